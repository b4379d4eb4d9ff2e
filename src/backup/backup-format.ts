import { BadRequestException } from '@nestjs/common';
import { createHash, Hash } from 'crypto';
import {
  describeJsonBoundsProblem,
  findJsonBoundsProblem,
  isJsonObject,
  MAX_JSON_DEPTH,
} from '../common/json-bounds';
import { MAX_BODY_BYTES } from '../common/wire-rules';
import { compileValidation } from '../common/compiled-validation';
import { validationMessages } from '../common/wire-validators';
import { ChangeRow } from '../store/change-columns';
import { NewChange } from '../store/change.repository';
import type { ChangeOp } from '../common/change-op';
import { BackupEventDto, toBackupEventDto } from './backup-event.dto';

/** An archive line's rules, compiled once; class-validator itself runs only for a refused line. */
const EVENT_VALID = compileValidation(BackupEventDto);

/**
 * The backup archive (docs/backup.md): a zip holding `events.jsonl`, one change
 * per line, oldest first, then `manifest.json`, written only once every event is
 * in, so an archive without a manifest is an incomplete one.
 */
export const FORMAT_VERSION = 1;
export const EVENTS_ENTRY = 'events.jsonl';
export const MANIFEST_ENTRY = 'manifest.json';

/** The manifest is small; anything larger is not ours (and would be read into memory). */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
/** One change is at most a push body (plus the stored fields around it); a longer line is not an event. */
export const MAX_EVENT_LINE_BYTES = MAX_BODY_BYTES + 6 * 1024 * 1024;

export interface BackupEvent {
  eventId: string;
  schemaVersion: number;
  appId: string;
  table: string;
  id: string;
  op: ChangeOp;
  data: Record<string, unknown> | null;
  fieldMeta: Record<string, string> | null;
  spaceId: string | null;
  actor: unknown;
  origin: string | null;
  clientId: string;
  /** ISO-8601 UTC with microseconds, exactly as stored. */
  createdAt: string;
}

export interface BackupManifest {
  formatVersion: number;
  /** Highest wire schema version of the server that wrote the archive. */
  schemaVersion: number;
  userId: string;
  createdAt: string;
  eventCount: number;
  /** Hex sha256 of the uncompressed events.jsonl bytes. */
  eventsSha256: string;
  apps: string[];
  producedBy: string;
  /** Lowest and highest schemaVersion among the events; null for an empty archive. */
  schemaVersionMin: number | null;
  schemaVersionMax: number | null;
}

/** A stored row as a line of events.jsonl; the key order is the documented one. */
export function toBackupEvent(row: ChangeRow): BackupEvent {
  return {
    eventId: row.id,
    schemaVersion: row.schemaVersion,
    appId: row.appId,
    table: row.tableName,
    id: row.recordId,
    op: row.op,
    data: row.data,
    fieldMeta: row.fieldMeta,
    spaceId: row.spaceId,
    actor: row.actor ?? null,
    origin: row.origin,
    clientId: row.clientId,
    createdAt: row.createdAt,
  };
}

/** An event to restore: same id (so a second restore skips it) and same time. */
export function toRestoredChange(event: BackupEvent): NewChange {
  return {
    id: event.eventId,
    appId: event.appId,
    tableName: event.table,
    recordId: event.id,
    spaceId: event.spaceId,
    op: event.op,
    data: event.data,
    fieldMeta: event.fieldMeta ?? {},
    clientId: event.clientId,
    schemaVersion: event.schemaVersion,
    actor: event.actor,
    origin: event.origin,
    createdAt: event.createdAt,
  };
}

/** What the manifest says about the events, accumulated while they are written or read. */
export class EventsDigest {
  private readonly hash: Hash = createHash('sha256');
  private readonly appIds = new Set<string>();
  count = 0;
  schemaVersionMin: number | null = null;
  schemaVersionMax: number | null = null;

  /** Hashes bytes exactly as they are in events.jsonl. */
  update(bytes: Buffer): void {
    this.hash.update(bytes);
  }

  add(event: Pick<BackupEvent, 'appId' | 'schemaVersion'>): void {
    this.count++;
    this.appIds.add(event.appId);
    if (this.schemaVersionMin === null || event.schemaVersion < this.schemaVersionMin) {
      this.schemaVersionMin = event.schemaVersion;
    }
    if (this.schemaVersionMax === null || event.schemaVersion > this.schemaVersionMax) {
      this.schemaVersionMax = event.schemaVersion;
    }
  }

  get apps(): string[] {
    return [...this.appIds].sort();
  }

  /** Hex sha256; call once, at the end. */
  sha256(): string {
    return this.hash.digest('hex');
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** A `\uD800`-`\uDFFF` escape: the only way a lone surrogate, which jsonb refuses, gets into a line. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
/** The same in JSON.stringify's output, which escapes lone surrogates only (and a backslash as `\\`). */
const LONE_SURROGATE_IN_STRINGIFIED = /(?:^|[^\\])(?:\\\\)*\\u[dD][89a-fA-F]/;

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Checks the manifest's shape; which user and which schema versions are acceptable is the caller's rule. */
export function parseManifest(text: string): BackupManifest {
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    throw new BadRequestException('manifest.json is not valid JSON');
  }
  if (!isJsonObject(manifest)) throw new BadRequestException('manifest.json must be a JSON object');
  if (manifest.formatVersion !== FORMAT_VERSION) {
    throw new BadRequestException(
      `manifest.json: formatVersion ${JSON.stringify(manifest.formatVersion)} is not supported (this server reads ${FORMAT_VERSION})`,
    );
  }
  const bad = (field: string, expected: string): never => {
    throw new BadRequestException(`manifest.json: ${field} must be ${expected}`);
  };
  if (typeof manifest.userId !== 'string' || manifest.userId === '')
    bad('userId', 'a non-empty string');
  if (!isCount(manifest.eventCount)) bad('eventCount', 'a non-negative integer');
  if (typeof manifest.eventsSha256 !== 'string' || !SHA256_HEX.test(manifest.eventsSha256)) {
    bad('eventsSha256', 'a lower-case hex sha256');
  }
  for (const field of ['schemaVersionMin', 'schemaVersionMax'] as const) {
    const value = manifest[field];
    if (value !== null && value !== undefined && !isCount(value)) bad(field, 'an integer or null');
  }
  return manifest as unknown as BackupManifest;
}

/** Parses and checks one line of events.jsonl, so that bad input is a 400 before anything is written. */
export function parseEvent(
  line: string,
  lineNumber: number,
  maxSchemaVersion: number,
): BackupEvent {
  const bad = (message: string): never => {
    throw new BadRequestException(`events.jsonl line ${lineNumber}: ${message}`);
  };
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    return bad('is not valid JSON');
  }
  if (!isJsonObject(event)) return bad('must be a JSON object');
  // Before anything recursive walks it (JSON.stringify for the INSERT, jsonb's parser): the same
  // bound as a push's data, fields and actor, one level deeper for the event object around them.
  const problem = findJsonBoundsProblem(event, MAX_JSON_DEPTH + 1);
  if (problem) {
    bad(describeJsonBoundsProblem({ ...problem, path: problem.path.slice(1) }, '', MAX_JSON_DEPTH));
  }
  if (SURROGATE_ESCAPE.test(line) && LONE_SURROGATE_IN_STRINGIFIED.test(JSON.stringify(event))) {
    bad('holds a lone UTF-16 surrogate (\\uD800-\\uDFFF), which cannot be stored');
  }
  const e = toBackupEventDto(event);
  if (!EVENT_VALID(e)) {
    const messages = validationMessages(e);
    if (messages.length > 0) bad(messages.join('; '));
  }
  if (e.schemaVersion < 1 || e.schemaVersion > maxSchemaVersion) {
    bad(`schemaVersion must be an integer from 1 to ${maxSchemaVersion}`);
  }
  return asBackupEvent(e);
}

/**
 * A line of an import's second pass, whose bytes parseEvent checked in the
 * first: its batch is written only if it hashes as it did then (BatchCutter),
 * so the checks (most of the cost of a line) are not run twice. A line that no
 * longer reads as an event means the file changed.
 */
export function readVerifiedEvent(line: string): BackupEvent {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    event = undefined;
  }
  if (!isJsonObject(event) || typeof event.eventId !== 'string') {
    throw new BadRequestException('events.jsonl changed since it was verified');
  }
  return asBackupEvent(event as unknown as BackupEventDto);
}

function asBackupEvent(e: BackupEventDto): BackupEvent {
  return {
    // Stored lower-cased, as a push stores it, so both name the same row.
    eventId: e.eventId.toLowerCase(),
    schemaVersion: e.schemaVersion,
    appId: e.appId,
    table: e.table,
    id: e.id,
    op: e.op,
    data: e.data ?? null,
    fieldMeta: e.fieldMeta ?? null,
    spaceId: e.spaceId ?? null,
    actor: e.actor ?? null,
    origin: e.origin ?? null,
    clientId: e.clientId,
    createdAt: e.createdAt,
  };
}

/** `sync-backup-<userId>-<yyyyMMdd-HHmmss>.mana`, the user id reduced to characters safe in a header. */
export function archiveFileName(userId: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `sync-backup-${userId.replace(/[^A-Za-z0-9._-]/g, '_')}-${stamp}.mana`;
}
