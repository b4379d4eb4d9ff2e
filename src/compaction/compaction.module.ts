import { Module } from '@nestjs/common';
import { CompactionMetrics } from './compaction.metrics';
import { CompactionRunner } from './compaction.runner';
import { CompactionScheduler } from './compaction.scheduler';
import { CompactionService } from './compaction.service';

/** Log compaction (docs/compaction.md): the pass, its schedule and its metrics. */
@Module({
  providers: [CompactionRunner, CompactionService, CompactionMetrics, CompactionScheduler],
  exports: [CompactionService],
})
export class CompactionModule {}

/** The pass without its schedule, for `npm run compact`. */
@Module({
  providers: [CompactionRunner, CompactionService, CompactionMetrics],
  exports: [CompactionService],
})
export class CompactionPassModule {}
