import { Module } from '@nestjs/common';
import { SyncStreamService } from './sync-stream.service';
import { SyncController } from './sync.controller';
import { SyncService } from './sync.service';

@Module({
  controllers: [SyncController],
  providers: [SyncService, SyncStreamService],
})
export class SyncModule {}
