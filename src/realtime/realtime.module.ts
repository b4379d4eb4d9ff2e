import { Global, Module } from '@nestjs/common';
import { ChangeBus } from './change-bus';
import { InProcessChangeBus } from './in-process-change-bus';

@Global()
@Module({
  providers: [{ provide: ChangeBus, useClass: InProcessChangeBus }],
  exports: [ChangeBus],
})
export class RealtimeModule {}
