import { Writable } from 'stream';
import { PinoNestLogger } from './pino-nest-logger';
import { requestIdOf } from './request-logging.middleware';
import { createRootLogger, pinoLevelOf } from './root-logger';

describe('pinoLevelOf', () => {
  it("maps Nest's level list to its most verbose level, false to silent, else LOG_LEVEL", () => {
    expect(pinoLevelOf(['error'], 'info')).toBe('error');
    expect(pinoLevelOf(['error', 'warn'], 'info')).toBe('warn');
    expect(pinoLevelOf(['log', 'error'], 'warn')).toBe('info');
    expect(pinoLevelOf(['verbose'], 'info')).toBe('trace');
    expect(pinoLevelOf([], 'info')).toBe('silent');
    expect(pinoLevelOf(false, 'info')).toBe('silent');
    expect(pinoLevelOf(undefined, 'debug')).toBe('debug');
    expect(pinoLevelOf({ log: () => undefined }, 'warn')).toBe('warn');
  });
});

describe('requestIdOf', () => {
  it('keeps a plain incoming id and replaces anything else with a UUID', () => {
    expect(requestIdOf('abc-123_x.y:z')).toBe('abc-123_x.y:z');
    expect(requestIdOf(['first', 'second'])).toBe('first');
    for (const bad of [undefined, '', 'a b', 'x'.repeat(129), 'line\nbreak']) {
      expect(requestIdOf(bad)).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
    }
  });
});

describe('PinoNestLogger', () => {
  function capture(): { lines: Record<string, unknown>[]; logger: PinoNestLogger } {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    return {
      lines,
      logger: new PinoNestLogger(createRootLogger({ level: 'info', destination: sink })),
    };
  }

  it('puts Nest context and error stacks into fields, and respects the level', () => {
    const { lines, logger } = capture();
    logger.log('started', 'Bootstrap');
    logger.error('boom', 'Error: boom\n    at x', 'Filter');
    logger.error('no stack', undefined, 'Filter');
    logger.debug('hidden', 'Bootstrap');
    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', msg: 'started', context: 'Bootstrap' }),
      expect.objectContaining({
        level: 'error',
        msg: 'boom',
        context: 'Filter',
        stack: 'Error: boom\n    at x',
      }),
      expect.objectContaining({ level: 'error', msg: 'no stack', context: 'Filter' }),
    ]);
  });

  it('redacts authorization, cookies and the service key wherever headers are logged', () => {
    const { lines, logger } = capture();
    logger.warn({
      msg: 'odd request',
      req: {
        headers: {
          authorization: 'Bearer abc',
          cookie: 'c=1',
          'x-service-key': 'k',
          accept: '*/*',
        },
      },
    });
    expect(lines[0]).toMatchObject({
      req: {
        headers: {
          authorization: '[redacted]',
          cookie: '[redacted]',
          'x-service-key': '[redacted]',
          accept: '*/*',
        },
      },
    });
  });
});
