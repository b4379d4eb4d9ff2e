import { DynamicModule, Module, ModuleMetadata, Type } from '@nestjs/common';
import { BillingCheck } from './billing/billing-check';
import { BillingModule } from './billing/billing.module';
import { MembershipProvider } from './spaces/membership-provider';
import { SpacesModule } from './spaces/spaces.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { AuthKeySource } from './auth/auth-key-source';
import { AuthModule } from './auth/auth.module';
import { HealthModule } from './health/health.module';
import { LimitsModule } from './limits/limits.module';
import { MetricsModule } from './metrics/metrics.module';
import { MigrationModule } from './migration/migration.module';
import { RealtimeModule } from './realtime/realtime.module';
import { StoreModule } from './store/store.module';
import { SyncModule } from './sync/sync.module';
import { BackupModule } from './backup/backup.module';
import { CompactionModule } from './compaction/compaction.module';
import { InspectModule } from './inspect/inspect.module';

/** What a team can plug in without forking (docs/extending.md). */
export interface AppExtensions {
  /** Replaces the mana-auth membership lookup. */
  membershipProvider?: Type<MembershipProvider>;
  /** Replaces the JWKS the tokens are verified with. */
  authKeySource?: Type<AuthKeySource>;
  /** Replaces the mana-credits subscription check. */
  billingCheck?: Type<BillingCheck>;
  /** The team's own modules: guards (APP_GUARD), controllers, providers. */
  imports?: ModuleMetadata['imports'];
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, extensions: AppExtensions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        SpacesModule.forRoot(extensions.membershipProvider),
        BillingModule.forRoot(extensions.billingCheck),
        StoreModule,
        MigrationModule,
        AuthModule.forRoot(extensions.authKeySource),
        HealthModule,
        MetricsModule,
        LimitsModule,
        RealtimeModule,
        SyncModule,
        BackupModule,
        CompactionModule,
        // Local sign-in signs with the local key: not when a team replaced the key source.
        InspectModule.forRoot({
          localSignIn: config.auth.localAuth !== undefined && !extensions.authKeySource,
        }),
        ...(extensions.imports ?? []),
      ],
    };
  }
}
