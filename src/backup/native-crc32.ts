import { dirname } from 'path';
import { crc32 } from 'zlib';

/**
 * yazl computes each entry's CRC-32 with buffer-crc32, a byte-at-a-time
 * JavaScript loop that took a third of the export's CPU. Node's zlib.crc32 is
 * the same checksum (CRC-32/ISO-HDLC), native. Loaded for this side effect;
 * it patches the copy of buffer-crc32 that yazl itself resolves.
 */
interface BufferCrc32 {
  unsigned(buffer: Buffer | string, previous?: number | Buffer): number;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const bufferCrc32 = require(
  require.resolve('buffer-crc32', { paths: [dirname(require.resolve('yazl'))] }),
) as BufferCrc32;

bufferCrc32.unsigned = (buffer, previous) =>
  crc32(buffer, Buffer.isBuffer(previous) ? previous.readUInt32BE(0) : (previous ?? 0));
