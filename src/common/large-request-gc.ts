import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { setFlagsFromString } from 'v8';
import { runInNewContext } from 'vm';

/** A request that moved at least this many bytes (body in, answer out) counts as large. */
export const LARGE_REQUEST_BYTES = 1024 * 1024;
/** After this many bytes of large requests, one full garbage collection. */
export const COLLECT_AFTER_BYTES = 8 * 1024 * 1024;

export type Collect = (options: { type: 'major'; execution: 'sync' }) => void;

/**
 * V8's `gc`, without `--expose-gc` on the command line (`npm start` and `node dist/src/main.js`
 * set none): the flag is read when a context is made, so a new context has it. Undefined
 * where that is refused.
 */
export function exposedGc(): Collect | undefined {
  const own = (globalThis as { gc?: Collect }).gc;
  if (typeof own === 'function') return own;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
    return typeof gc === 'function' ? (gc as Collect) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One full garbage collection once large requests have moved COLLECT_AFTER_BYTES since the
 * last, right after the response that crossed it has been handed to the socket (issue 20).
 * A push of 8 MB leaves its body's Buffers (the socket's reads, the joined body) and its
 * strings behind, a pull of long rows the Buffers of its pieces; between V8's own
 * collections they piled up to 70–80 MB, glibc's heap grew to hold them and kept that size
 * (measured in docs/performance.md).
 * Collected every 8 MB instead, the heap stays small and is reused. Requests under 1 MB
 * (every push and pull page of ordinary records) never count: the collection costs tens of
 * milliseconds, which only requests of megabytes dwarf.
 */
export function collectAfterLargeRequests(gc: Collect | undefined = exposedGc()): RequestHandler {
  let moved = 0;
  let scheduled = false;
  return (req: Request, res: Response, next: NextFunction) => {
    const socket = req.socket;
    if (!gc || !socket) return next();
    const readBefore = socket.bytesRead;
    const writtenBefore = socket.bytesWritten;
    res.once('finish', () => {
      const bytes = socket.bytesRead - readBefore + (socket.bytesWritten - writtenBefore);
      if (bytes < LARGE_REQUEST_BYTES) return;
      moved += bytes;
      if (moved < COLLECT_AFTER_BYTES || scheduled) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        moved = 0;
        gc({ type: 'major', execution: 'sync' });
      });
    });
    next();
  };
}
