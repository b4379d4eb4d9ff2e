import type { NextFunction, Request, Response } from 'express';
import { isUtf8 } from 'buffer';

/**
 * Bodies from this size on keep their bytes next to the parsed value (bodySourceOf), so a
 * large record can be stored from its source text (changeDataSpans). Below it the text is
 * worth less than the scan; the bench's pushes of 100 records are about 30 KB.
 */
export const BODY_SOURCE_MIN_BYTES = 64 * 1024;

const RAW = Symbol('rawBody');
type WithRaw = Request & { [RAW]?: Buffer };

const sources = new WeakMap<object, Buffer>();

/**
 * express.json's `verify` hook: with it, the body is read into one Buffer and decoded once
 * (without it, into a string by 64 KB pieces, which JSON.parse then copies into one: 8 MB
 * more for an 8 MB body). The Buffer is kept when it is the text JSON.parse reads: UTF-8
 * (a body parser decoding another charset, or replacing bytes that are not UTF-8, reads
 * other text).
 */
export function keepBodySource(req: Request, _res: Response, body: Buffer, encoding: string): void {
  if (body.length < BODY_SOURCE_MIN_BYTES) return;
  if (encoding !== 'utf-8' && encoding !== 'utf8') return;
  if (!isUtf8(body)) return;
  (req as WithRaw)[RAW] = body;
}

/** After express.json: ties the kept bytes to the parsed body (for a pipe, which sees only the body). */
export function attachBodySource(req: Request, _res: Response, next: NextFunction): void {
  const raw = (req as WithRaw)[RAW];
  if (raw !== undefined) {
    delete (req as WithRaw)[RAW];
    const body: unknown = req.body;
    if (typeof body === 'object' && body !== null) sources.set(body, raw);
  }
  next();
}

/** The UTF-8 bytes `body` was parsed from, when kept (large JSON bodies). */
export function bodySourceOf(body: object): Buffer | undefined {
  return sources.get(body);
}
