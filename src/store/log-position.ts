/** A point in the change log: every row at or before it (in (tx_id, seq) order) is behind the reader. */
export interface LogPosition {
  txId: bigint;
  seq: bigint;
}

/** Before the first row of the log. */
export const START: LogPosition = { txId: 0n, seq: 0n };
