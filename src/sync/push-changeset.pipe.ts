import { Injectable, PipeTransform } from '@nestjs/common';
import { SyncConfig } from '../config/app-config';
import { PushChangeset, toChangeset } from './change-mapper';
import { PushDto } from './dto/push.dto';

/**
 * After PushBodyPipe: the validated body as the changeset SyncService stores (the cursor,
 * the schema versions this server supports, each change as a row). Refusals are domain
 * errors (400), named by change index and field.
 */
@Injectable()
export class PushChangesetPipe implements PipeTransform<PushDto, PushChangeset> {
  constructor(private readonly config: SyncConfig) {}

  transform(body: PushDto): PushChangeset {
    return toChangeset(body, this.config.maxSchemaVersion);
  }
}
