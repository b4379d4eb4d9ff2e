import { createHash, Hash } from 'crypto';

/**
 * An import commits in batches no larger than a modest push, so that no
 * transaction of ours holds the cursor horizon back for long (docs/cursor.md).
 */
export const RESTORE_BATCH_ROWS = 1000;
export const RESTORE_BATCH_BYTES = 2 * 1024 * 1024;

export interface Batch<T> {
  items: T[];
  /** Lines of events.jsonl in it. */
  lines: number;
  /** Hex sha256 of its lines: the restore checks it against the verified one before writing. */
  digest: string;
}

/**
 * Cuts the lines of events.jsonl into the import's batches. The same bytes
 * always give the same batches with the same digests: the verifying pass
 * records them, the restoring pass writes a batch only if its digest matches.
 */
export class BatchCutter<T> {
  private hash: Hash = createHash('sha256');
  private items: T[] = [];
  private bytes = 0;

  constructor(
    private readonly maxRows = RESTORE_BATCH_ROWS,
    private readonly maxBytes = RESTORE_BATCH_BYTES,
  ) {}

  /** Adds a line; returns the batch it completes, if any. */
  add(line: Buffer, item: T): Batch<T> | undefined {
    this.hash.update(line);
    this.hash.update('\n');
    this.items.push(item);
    this.bytes += line.length + 1;
    return this.items.length >= this.maxRows || this.bytes >= this.maxBytes
      ? this.cut()
      : undefined;
  }

  /** The last, partial batch, if any. */
  finish(): Batch<T> | undefined {
    return this.items.length > 0 ? this.cut() : undefined;
  }

  private cut(): Batch<T> {
    const batch = { items: this.items, lines: this.items.length, digest: this.hash.digest('hex') };
    this.hash = createHash('sha256');
    this.items = [];
    this.bytes = 0;
    return batch;
  }
}
