import { DynamicModule, Module } from '@nestjs/common';
import { RealtimeModule } from '../realtime/realtime.module';
import { SyncModule } from '../sync/sync.module';
import { InspectPagesController } from './inspect-pages.controller';
import { InspectOptions } from './inspect-options';
import { InspectController } from './inspect.controller';
import { InspectRepository } from './inspect.repository';
import { InspectService } from './inspect.service';
import { InspectorAssets } from './inspector-assets';
import { LocalTokenController } from './local-token.controller';
import { OpsController } from './ops.controller';
import { OpsHistory } from './ops-history';

/**
 * The developer inspector (`/inspect`) and operator dashboard (`/inspect/ops`): their
 * pages, the read-only routes behind them, and the dashboard's metrics history.
 */
@Module({})
export class InspectModule {
  /**
   * `localSignIn`: local development auth is on with its own key, so the local-token
   * route exists; otherwise it is not registered at all (404).
   */
  static forRoot(options: { localSignIn: boolean }): DynamicModule {
    return {
      module: InspectModule,
      imports: [RealtimeModule, SyncModule],
      controllers: [
        InspectController,
        OpsController,
        InspectPagesController,
        ...(options.localSignIn ? [LocalTokenController] : []),
      ],
      providers: [
        { provide: InspectOptions, useValue: new InspectOptions(options) },
        { provide: InspectorAssets, useValue: new InspectorAssets() },
        InspectService,
        InspectRepository,
        OpsHistory,
      ],
    };
  }
}
