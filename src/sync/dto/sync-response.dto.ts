import type { FieldChange } from './change.dto';
import type { ChangeOp } from '../../store/sync-change.entity';

/** A stored change as clients receive it. */
export interface ServerChange {
  eventId: string;
  schemaVersion: number;
  table: string;
  id: string;
  op: ChangeOp;
  data?: Record<string, unknown>;
  fields?: Record<string, FieldChange>;
  deletedAt?: string;
  spaceId?: string;
  actor?: unknown;
  origin?: string;
}

export interface SyncResponse {
  serverChanges: ServerChange[];
  conflicts: never[];
  syncedUntil: string;
  hasMore: boolean;
}
