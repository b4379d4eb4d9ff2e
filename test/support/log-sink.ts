import { Writable } from 'stream';

/** A pino destination that keeps every line, as a log pipeline would receive it. */
export class LogSink extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }

  records(): Record<string, any>[] {
    return this.lines.map((line) => JSON.parse(line));
  }

  /** The request line of `requestId`; it is written when the response ends, so wait a little. */
  async requestLine(requestId: string): Promise<Record<string, any>> {
    for (let i = 0; i < 100; i++) {
      const line = this.records().find(
        (r) => r.requestId === requestId && r.msg?.startsWith('request'),
      );
      if (line) return line;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no request line for ${requestId}:\n${this.lines.join('\n')}`);
  }
}
