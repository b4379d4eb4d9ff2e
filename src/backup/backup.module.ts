import { Module } from '@nestjs/common';
import { BackupController } from './backup.controller';
import { BackupRepository } from './backup.repository';
import { BackupExportService } from './backup-export.service';
import { BackupImportService } from './backup-import.service';

@Module({
  controllers: [BackupController],
  providers: [BackupExportService, BackupImportService, BackupRepository],
  exports: [BackupExportService, BackupImportService],
})
export class BackupModule {}
