import type { LogLevel } from '@nestjs/common';
import pino, { DestinationStream, LevelWithSilent, Logger } from 'pino';
import pretty from 'pino-pretty';
import { LOG_LEVELS } from '../config/env.dto';

/** Secrets that must never reach a log line, wherever a request or its headers get logged. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-service-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-service-key"]',
];

export interface RootLoggerOptions {
  level: LevelWithSilent;
  /** Where lines go; default stdout, pretty-printed when it is a terminal, JSON otherwise. */
  destination?: DestinationStream;
}

/** The one pino logger of an application: request lines and Nest's own logs go through it. */
export function createRootLogger({ level, destination }: RootLoggerOptions): Logger {
  const options: pino.LoggerOptions = {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Level names read better than numbers in log pipelines.
    formatters: { level: (label) => ({ level: label }) },
  };
  if (destination) return pino(options, destination);
  if (process.stdout.isTTY) {
    return pino(
      options,
      // Synchronous, like pino's own stdout, so the last lines before process.exit are not lost.
      pretty({
        colorize: true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
        sync: true,
      }),
    );
  }
  // Asynchronous stdout: a request must not wait for its log line to be written. Lines are
  // written in chunks of 4 KB (a write per line cost 6% of a busy service's CPU) and at least
  // every second; pino flushes what is buffered when the process exits.
  const stdout = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  bufferedOutputs.add(stdout);
  setInterval(() => flushOne(stdout), 1000).unref();
  return pino(options, stdout);
}

const bufferedOutputs = new Set<ReturnType<typeof pino.destination>>();

/**
 * Writes every buffered log line now, synchronously: start-up lines must show at once
 * (the service is ready, or it failed and says why on the next line), not up to a second later.
 */
export function flushLogs(): void {
  for (const output of bufferedOutputs) flushOne(output, true);
}

function flushOne(output: ReturnType<typeof pino.destination>, sync = false): void {
  try {
    if (sync) output.flushSync();
    else output.flush();
  } catch {
    // destroyed at exit: nothing left to write
  }
}

const NEST_TO_PINO: Record<LogLevel, LevelWithSilent> = {
  verbose: 'trace',
  debug: 'debug',
  log: 'info',
  warn: 'warn',
  error: 'error',
  fatal: 'fatal',
};

/**
 * The pino level for createApp's `logger` option: Nest's level list maps to
 * its most verbose entry (`['error']` → error), `false` to silent, and
 * anything else leaves LOG_LEVEL in charge.
 */
export function pinoLevelOf(nestOption: unknown, configured: LevelWithSilent): LevelWithSilent {
  if (nestOption === false) return 'silent';
  if (!Array.isArray(nestOption)) return configured;
  const levels = nestOption
    .filter((level): level is LogLevel => level in NEST_TO_PINO)
    .map((level) => NEST_TO_PINO[level]);
  return LOG_LEVELS.filter((level) => levels.includes(level)).pop() ?? 'silent';
}
