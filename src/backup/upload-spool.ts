import {
  BadRequestException,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { createWriteStream } from 'fs';
import { mkdtemp, rm } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import { Readable, Transform } from 'stream';
import { pipeline } from 'stream/promises';

/**
 * An uploaded archive spooled to a temporary file (never whole in memory), `use`d, then
 * removed whatever happened. Refused before a byte is read when the declared length is
 * over `maxBytes`, or when the body was consumed already (a JSON content type).
 */
export async function withSpooledUpload<T>(
  upload: Readable,
  maxBytes: number,
  declaredBytes: number | undefined,
  use: (path: string) => Promise<T>,
): Promise<T> {
  if (declaredBytes !== undefined && declaredBytes > maxBytes) {
    throw new PayloadTooLargeException(
      `The archive exceeds ${maxBytes} bytes (BACKUP_IMPORT_MAX_BYTES)`,
    );
  }
  if (upload.readableEnded) {
    // express.json() consumed it: a JSON content type.
    throw new UnsupportedMediaTypeException('Send the archive as application/zip');
  }
  const dir = await mkdtemp(join(tmpdir(), 'sync-backup-'));
  try {
    const path = join(dir, 'upload.mana');
    await spoolUpload(upload, path, maxBytes);
    return await use(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Copies an upload to a new file (mode 0600) without holding it in memory,
 * refusing it with 413 once it passes `maxBytes`. The source is unpiped, not
 * destroyed, on failure: the HTTP server can still answer, then discards the rest.
 */
export function spoolUpload(source: Readable, path: string, maxBytes: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let bytes = 0;
    const limiter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          done(
            new PayloadTooLargeException(
              `The archive exceeds ${maxBytes} bytes (BACKUP_IMPORT_MAX_BYTES)`,
            ),
          );
          return;
        }
        done(null, chunk);
      },
    });
    const fail = (error: Error): void => {
      source.unpipe(limiter);
      limiter.destroy(error);
    };
    const onError = (error: Error): void =>
      fail(new BadRequestException(`The upload failed: ${error.message}`));
    const onClose = (): void => {
      if (!source.readableEnded)
        fail(new BadRequestException('The upload was aborted before its end'));
    };
    source.on('error', onError);
    source.on('close', onClose);
    pipeline(limiter, createWriteStream(path, { flags: 'wx', mode: 0o600 }))
      .then(() => resolve(bytes), reject)
      .finally(() => {
        source.off('error', onError);
        source.off('close', onClose);
      });
    source.pipe(limiter);
  });
}
