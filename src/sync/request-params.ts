import {
  BadRequestException,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  PipeTransform,
} from '@nestjs/common';
import { DECORATORS } from '@nestjs/swagger';
import type { Request } from 'express';
import { isJsonObject } from '../common/json-bounds';
import { MAX_TABLE_LENGTH } from '../common/wire-rules';
import { MAX_COLLECTIONS_LENGTH } from './dto/pull-query.dto';
import { parseSince, SyncCursor } from './sync-cursor';

/**
 * The parts of a sync request that are not one DTO, each read and checked in one place.
 * Values are read from the request as sent; the DTO of the same route (or PushBodyPipe)
 * validates them too, and a route runs only when every parameter passed, so a value
 * of the wrong type here is never used.
 */

function requestOf(ctx: ExecutionContext): Request {
  return ctx.switchToHttp().getRequest<Request>();
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * The client (device) id: the `X-Client-Id` header, else `clientId` of the body (push) or
 * of the query (pull, stream: EventSource cannot set headers). Empty is none.
 */
export const ClientId = createParamDecorator(
  (from: 'body' | 'query', ctx: ExecutionContext): string | undefined => {
    const req = requestOf(ctx);
    const header = stringOf(req.headers['x-client-id']);
    if (header) return header;
    const source: unknown = from === 'body' ? req.body : req.query;
    return (isJsonObject(source) ? stringOf(source.clientId) : undefined) || undefined;
  },
);

/** A push must name its client: its changes are not echoed back to it. */
@Injectable()
export class RequiredClientIdPipe implements PipeTransform<string | undefined, string> {
  transform(clientId: string | undefined): string {
    if (!clientId) {
      throw new BadRequestException('clientId is required (body or X-Client-Id header)');
    }
    return clientId;
  }
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/** `Idempotency-Key`: absent, or 1-200 visible ASCII characters. */
@Injectable()
export class IdempotencyKeyPipe implements PipeTransform<string | undefined, string | undefined> {
  transform(key: string | undefined): string | undefined {
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      throw new BadRequestException('Idempotency-Key must be 1-200 visible ASCII characters');
    }
    return key;
  }
}

const IdempotencyKeyHeader = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): string | undefined =>
    stringOf(requestOf(ctx).headers['idempotency-key']),
);

/** The push's `Idempotency-Key` header, checked. */
export const IdempotencyKey = (): ParameterDecorator =>
  IdempotencyKeyHeader(undefined, IdempotencyKeyPipe);

/** `since` as a cursor: one of ours, or an ISO-8601 time; absent is the beginning. */
@Injectable()
export class CursorPipe implements PipeTransform<unknown, SyncCursor> {
  transform(since: unknown): SyncCursor {
    // Not a string: the query DTO refuses it (IsString), with its own message.
    return parseSince(typeof since === 'string' ? since : undefined);
  }
}

const SinceQuery = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): unknown => requestOf(ctx).query.since,
);

/** The query's `since`, as a cursor (pull, stream; a push's is in its body). */
export const Since = (): ParameterDecorator => SinceQuery(undefined, CursorPipe);

/** The stream's `collections`: comma-separated names, trimmed, once each, at least one. */
@Injectable()
export class CollectionListPipe implements PipeTransform<unknown, string[]> {
  transform(value: unknown): string[] {
    // Not a string, or too long: the query DTO refuses it, with its own message.
    if (typeof value !== 'string' || value.length > MAX_COLLECTIONS_LENGTH) return [];
    const collections = [...new Set(value.split(',').map((c) => c.trim()))].filter(Boolean);
    if (collections.length === 0) {
      throw new BadRequestException('collections must name at least one');
    }
    // As pull's `collection`: checked before the 200, a stream cannot answer 400 later.
    const tooLong = collections.find((c) => c.length > MAX_TABLE_LENGTH);
    if (tooLong !== undefined) {
      throw new BadRequestException(
        `collections: each name must be at most ${MAX_TABLE_LENGTH} characters ("${tooLong.slice(0, 20)}…" is ${tooLong.length})`,
      );
    }
    return collections;
  }
}

const CollectionsQuery = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): unknown => requestOf(ctx).query.collections,
);

/** The stream's collections, parsed. */
export const Collections = (): ParameterDecorator =>
  CollectionsQuery(undefined, CollectionListPipe);

/**
 * Documents headers as `@Headers('name')` did before these decorators read them (a required
 * string each), so the OpenAPI document and the client's generated types stay as released.
 */
export function ApiReadsHeaders(...names: string[]): MethodDecorator {
  return (_target, _key, descriptor) => {
    const documented: unknown[] =
      Reflect.getMetadata(DECORATORS.API_PARAMETERS, descriptor.value as object) ?? [];
    const headers = names.map((name) => ({
      name,
      required: true,
      in: 'header',
      schema: { type: 'string' },
    }));
    Reflect.defineMetadata(
      DECORATORS.API_PARAMETERS,
      [...documented, ...headers],
      descriptor.value as object,
    );
    return descriptor;
  };
}
