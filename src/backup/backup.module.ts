import { Module } from '@nestjs/common';
import { BackupController } from './backup.controller';
import { BackupRepository } from './backup.repository';
import { BackupService } from './backup.service';

/** Export and import without their routes: the service's BackupModule and `npm run backup` import it. */
@Module({
  providers: [BackupService, BackupRepository],
  exports: [BackupService],
})
export class BackupServicesModule {}

/** The backup routes over BackupServicesModule. */
@Module({
  imports: [BackupServicesModule],
  controllers: [BackupController],
})
export class BackupModule {}
