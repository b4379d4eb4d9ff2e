import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';
import { createWriteStream } from 'fs';
import { Readable, Transform } from 'stream';
import { pipeline } from 'stream/promises';

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
