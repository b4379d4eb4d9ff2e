import { InitialSchema1732700000000 } from './1732700000000-initial-schema';
import { ChangeCursor1732700000001 } from './1732700000001-change-cursor';
import { RlsRole1732700000002 } from './1732700000002-rls-role';
import { SpaceWriteCheck1732700000003 } from './1732700000003-space-write-check';
import { IdempotencyKeys1732700000004 } from './1732700000004-idempotency-keys';
import { RlsPolicyInitPlans1732700000005 } from './1732700000005-rls-policy-init-plans';
import { CompactionRole1732700000006 } from './1732700000006-compaction-role';
import { ChangePayloadBytes1732700000007 } from './1732700000007-change-payload-bytes';
import { ObserverRole1732700000008 } from './1732700000008-observer-role';
import { CompactionRemovals1732700000009 } from './1732700000009-compaction-removals';
import { ScopeClaims1732700000010 } from './1732700000010-scope-claims';

/** Every migration in order; listed explicitly so ts-jest, ts-node and dist load the same set. */
export const MIGRATIONS = [
  InitialSchema1732700000000,
  ChangeCursor1732700000001,
  RlsRole1732700000002,
  SpaceWriteCheck1732700000003,
  IdempotencyKeys1732700000004,
  RlsPolicyInitPlans1732700000005,
  CompactionRole1732700000006,
  ChangePayloadBytes1732700000007,
  ObserverRole1732700000008,
  CompactionRemovals1732700000009,
  ScopeClaims1732700000010,
];
