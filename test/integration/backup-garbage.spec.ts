import { HttpException, Logger } from '@nestjs/common';
import { DomainError } from '../../src/common/errors/domain-errors';
import { httpExceptionOf } from '../../src/common/errors/http-exception.filter';
import { createHash, randomInt } from 'crypto';
import { mkdtemp, rm, writeFile } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import { Writable } from 'stream';
import { BackupExportService } from '../../src/backup/backup-export.service';
import { BackupImportService } from '../../src/backup/backup-import.service';
import { readZip, writeZip } from '../support/backup-archive';
import { createStoreContext, StoreContext } from '../support/store-context';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { seededRandom as rng } from '../support/seeded-random';

/**
 * Generated garbage thrown at the archive reader and the import: every archive
 * is refused with a 4xx, or its events are stored and an export gives them
 * back equal. Never a 5xx, never a database error. Replay a failure with the
 * SEED it prints; CASES sets how many archives (default 150).
 */
const SEED = Number(process.env.SEED ?? randomInt(2 ** 31));
const CASES = Number(process.env.CASES ?? 150);
const USER = 'garbage-user';

class Gen {
  constructor(readonly random: () => number) {}

  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  uuid(): string {
    const hex = () => this.int(16).toString(16);
    const part = (n: number) => Array.from({ length: n }, hex).join('');
    return `${part(8)}-${part(4)}-4${part(3)}-a${part(3)}-${part(12)}`;
  }

  string(): string {
    const pieces = ['a', 'Z', ' ', 'é', '中', '😀', '"', '\\', '\n', '\t', '\u2028', '\u007f', '{'];
    return Array.from({ length: this.int(8) }, () => this.pick(pieces)).join('');
  }

  value(depth = 0): unknown {
    const kind = this.int(depth > 4 ? 6 : 9);
    switch (kind) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick([0, -0, 1.5, -7, 1e21, 1e308, 5e-324, 2 ** 53 + 1, 0.1 + 0.2]);
      case 3:
      case 4:
      case 5:
        return this.string();
      case 6:
      case 7:
        return Object.fromEntries(
          Array.from({ length: this.int(4) }, () => [
            this.pick(['a', 'b', '__proto__', 'spaceId', 'é', '']),
            this.value(depth + 1),
          ]),
        );
      default:
        return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
    }
  }

  time(): string {
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    const base = `${pad(1 + this.int(9999), 4)}-${pad(1 + this.int(12))}-${pad(1 + this.int(31))}T${pad(this.int(25))}:${pad(this.int(60))}:${pad(this.int(61))}`;
    const fraction = this.pick(['', '.1', '.123', '.123456', '.123456789']);
    return base + fraction + this.pick(['Z', 'Z', '+01:00', '-15:59', '+16:00', '+0530']);
  }

  event(): Record<string, unknown> {
    return {
      eventId: this.uuid(),
      schemaVersion: 1,
      appId: this.pick(['todo', 'notes']),
      table: this.pick(['tasks', 'lists', this.string() || 't']),
      id: this.pick(['r1', this.string() || 'r']),
      op: this.pick(['insert', 'update', 'delete']),
      data: this.chance(0.9) ? (this.value(1) as object) : null,
      fieldMeta: this.chance(0.5) ? { title: this.time() } : {},
      spaceId: this.pick([null, null, `_personal:${USER}`]),
      actor: this.chance(0.5) ? this.value() : null,
      origin: this.pick([null, 'user', 'agent']),
      clientId: this.pick(['c1', this.string()]),
      createdAt: this.chance(0.9) ? '2026-11-27T10:00:00.123456Z' : this.time(),
    };
  }

  /** JSON text no JSON.stringify writes, or that jsonb refuses or changes. */
  rawJson(): string {
    const depth = this.pick([63, 64, 65, 2400]);
    return this.pick([
      `${'['.repeat(depth)}${']'.repeat(depth)}`,
      `{"a":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
      '1e400',
      '-1e400',
      '123456789012345678901234567890',
      '1.50',
      '"\\ud800"',
      '"x\\udfff"',
      '"\\ud83d\\ude00"',
      '"a\\u0000b"',
      '"\\\\ud800"',
      '{"k\\u0000":1}',
    ]);
  }

  /** One line of events.jsonl: a valid event, or one with a field or its text broken. */
  line(): string {
    const event = this.event();
    const field = this.pick(Object.keys(event));
    const PLACEHOLDER = '\u0001raw\u0001';
    let raw: string | undefined;
    switch (this.int(10)) {
      case 0:
        event[field] = this.value();
        break;
      case 1:
        delete event[field];
        break;
      case 2:
        event[this.pick(['extra', 'data'])] = { x: this.value() };
        break;
      case 3:
      case 4: {
        // Raw JSON text where a payload or a string field goes.
        raw = this.rawJson();
        const target = this.pick(['data', 'actor', 'fieldMeta', 'table', 'clientId', 'origin']);
        event[target] = ['data', 'fieldMeta'].includes(target) ? { v: PLACEHOLDER } : PLACEHOLDER;
        break;
      }
      default:
        break;
    }
    let text = JSON.stringify(event);
    if (raw !== undefined) text = text.replace(JSON.stringify(PLACEHOLDER), raw);
    switch (this.int(12)) {
      case 0: {
        const at = this.int(text.length);
        text =
          text.slice(0, at) + this.pick(['', '"', '\\', '}', ',', '1e400']) + text.slice(at + 1);
        break;
      }
      case 1:
        text = text.replace(
          '"schemaVersion":1',
          `"schemaVersion":${this.pick(['null', '1e400', '0', '2', '1.5', '"1"', '1.0'])}`,
        );
        break;
      default:
        break;
    }
    return text;
  }
}

/** Keys sorted, so two JSON values compare by content (jsonb keeps its own key order). */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** An event as the export gives it back: what a restore keeps, times to the microsecond in UTC. */
function asStored(event: Record<string, unknown>): string {
  const instant = (time: string) => {
    const fraction = /\.(\d+)/.exec(time)?.[1] ?? '0';
    const micros = Math.round(Number(`0.${fraction}`) * 1e6);
    return Date.parse(time.replace(/\.\d+/, '')) * 1000 + micros;
  };
  return canonical({
    eventId: event.eventId,
    schemaVersion: event.schemaVersion,
    appId: event.appId,
    table: event.table,
    id: event.id,
    op: event.op,
    data: event.data ?? null,
    fieldMeta: event.fieldMeta ?? {},
    spaceId: event.spaceId ?? null,
    actor: event.actor ?? null,
    origin: event.origin ?? null,
    clientId: event.clientId,
    createdAt: instant(event.createdAt as string),
  });
}

class Sink extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk);
    done();
  }
}

describe('the archive reader and import under generated garbage', () => {
  let db: TestDatabase;
  let store: StoreContext;
  let exporter: BackupExportService;
  let importer: BackupImportService;
  let dir: string;

  beforeAll(async () => {
    console.log(`backup garbage: SEED=${SEED} CASES=${CASES}`);
    db = await createTestDatabase();
    store = await createStoreContext(db.url);
    exporter = store.context.get(BackupExportService);
    importer = store.context.get(BackupImportService);
    dir = await mkdtemp(join(tmpdir(), 'backup-garbage-'));
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 4xx, or stores the events and exports them back equal; never a 5xx', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const gen = new Gen(rng(SEED));
    const user = { userId: USER, spaceIds: [], membershipsAvailable: true };
    const outcomes = { refused: 0, stored: 0 };
    for (let n = 0; n < CASES; n++) {
      const lines = Array.from({ length: 1 + gen.int(2) }, () => gen.line());
      const events = Buffer.from(lines.map((l) => `${l}\n`).join(''));
      const manifest: Record<string, unknown> = {
        formatVersion: 1,
        schemaVersion: 1,
        userId: USER,
        createdAt: '2026-11-27T10:00:00.000Z',
        eventCount: lines.length,
        eventsSha256: createHash('sha256').update(events).digest('hex'),
        apps: ['notes', 'todo'],
        producedBy: 'garbage',
        schemaVersionMin: 1,
        schemaVersionMax: 1,
      };
      if (gen.chance(0.1)) manifest[gen.pick(Object.keys(manifest))] = gen.value();
      let archive = await writeZip([
        { name: 'events.jsonl', data: events },
        { name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) },
      ]);
      if (gen.chance(0.1)) {
        archive = Buffer.from(archive);
        for (let i = 0; i < 1 + gen.int(4); i++) archive[gen.int(archive.length)] = gen.int(256);
      }
      const file = join(dir, `case-${n}.mana`);
      await writeFile(file, archive);
      const context = `case ${n} (SEED=${SEED}): ${lines.join('\\n').slice(0, 300)}`;
      try {
        await importer.importFile(user, file, { maxInflateRatio: 100 });
      } catch (error) {
        // The import's own refusals are domain errors; the filter answers them with their status.
        const answer = error instanceof DomainError ? httpExceptionOf(error) : error;
        if (!(answer instanceof HttpException) || answer.getStatus() >= 500) {
          throw new Error(`${context}\n→ ${error instanceof Error ? error.stack : error}`, {
            cause: error,
          });
        }
        outcomes.refused++;
        const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM sync_changes');
        if (rows[0].n !== 0) {
          throw new Error(`${context}\n→ refused, but wrote ${rows[0].n} rows`, { cause: error });
        }
        continue;
      }
      outcomes.stored++;
      const sink = new Sink();
      await exporter.exportArchive(user, sink);
      const [exported] = await readZip(Buffer.concat(sink.chunks));
      const back = new Map<string, string>();
      for (const line of exported.data
        .toString()
        .split('\n')
        .filter((l) => l)) {
        const event = JSON.parse(line);
        back.set(event.eventId, asStored(event));
      }
      const sent = new Map<string, string>();
      for (const line of lines) {
        // As the archive holds it: a mutation that split a surrogate pair wrote U+FFFD (UTF-8).
        const event = JSON.parse(Buffer.from(line).toString('utf8'));
        if (!sent.has(event.eventId)) sent.set(event.eventId, asStored(event));
      }
      expect({ context, back: [...back] }).toEqual({ context, back: [...sent] });
      await db.pool.query('DELETE FROM sync_changes');
    }
    console.log(
      `backup garbage: ${outcomes.refused} refused, ${outcomes.stored} stored and read back`,
    );
    // The generator must reach both outcomes, or the property says little. About 13 % of
    // archives are stored (1,000 cases: 134); a bound at 10 % failed some seeds (SEED=5: 9).
    expect(outcomes.refused).toBeGreaterThan(CASES / 10);
    expect(outcomes.stored).toBeGreaterThan(CASES / 30);
  }, 120_000);
});
