import { Module } from '@nestjs/common';
import { BackupController } from './backup.controller';
import { BackupRepository } from './backup.repository';
import { BackupExportService } from './backup-export.service';
import { BackupImportService } from './backup-import.service';

/** Export and import without their routes: the service's BackupModule and `npm run backup` import it. */
@Module({
  providers: [BackupExportService, BackupImportService, BackupRepository],
  exports: [BackupExportService, BackupImportService],
})
export class BackupServicesModule {}

/** The backup routes over BackupServicesModule. */
@Module({
  imports: [BackupServicesModule],
  controllers: [BackupController],
})
export class BackupModule {}
