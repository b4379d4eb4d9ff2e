/** What a change does to its record; the `op` column of `sync_changes` and of the wire. */
export type ChangeOp = 'insert' | 'update' | 'delete';

export const CHANGE_OPS: readonly ChangeOp[] = ['insert', 'update', 'delete'];
