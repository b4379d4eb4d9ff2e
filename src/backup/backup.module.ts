import { Module } from '@nestjs/common';
import { RealtimeModule } from '../realtime/realtime.module';
import { BackupController } from './backup.controller';
import { BackupRepository } from './backup.repository';
import { BackupService } from './backup.service';

@Module({
  imports: [RealtimeModule],
  controllers: [BackupController],
  providers: [BackupService, BackupRepository],
  exports: [BackupService],
})
export class BackupModule {}
