import { LogPosition } from './change.repository';

/** Before the first row of the log. */
export const START: LogPosition = { txId: 0n, seq: 0n };
