import { BadRequestException } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { toErrorBody } from './errors/http-exception.filter';

/** A `%` that does not start an escape stands for itself (as node:querystring reads it). */
const LONE_PERCENT = /%(?![0-9a-f]{2})/gi;

type Decoded = { text: string; problem?: undefined } | { problem: string };

/** A query name or value as text, or why it is not text this service takes. */
export function decodeQueryText(raw: string): Decoded {
  let text: string;
  try {
    text = decodeURIComponent(raw.replace(/\+/g, ' ').replace(LONE_PERCENT, '%25'));
  } catch {
    return { problem: 'is not UTF-8 (for example an encoded lone surrogate)' };
  }
  if (text.includes('\u0000')) return { problem: 'contains a \\u0000 character' };
  return { text };
}

/**
 * Refuses with 400, on every route and before anything reads it, a query
 * string whose names or values are not text: escapes that do not decode as
 * UTF-8 (a lone surrogate is one: `%ED%A0%80`) and NUL (`%00`, which
 * PostgreSQL text cannot hold). Express's parser (node:querystring) would pass
 * them on as U+FFFD or NUL, to match nothing or to fail later (a stream after
 * its 200). Unescaped bytes past ASCII never get here: Node's parser refuses them.
 */
export function wellFormedQuery(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const start = req.url.indexOf('?');
    if (start < 0) return next();
    for (const pair of req.url.slice(start + 1).split('&')) {
      const equals = pair.indexOf('=');
      const rawName = equals < 0 ? pair : pair.slice(0, equals);
      const name = decodeQueryText(rawName);
      const value = equals < 0 ? name : decodeQueryText(pair.slice(equals + 1));
      const problem = name.problem ?? value.problem;
      if (problem === undefined) continue;
      const named = name.problem === undefined ? name.text : rawName;
      const error = new BadRequestException(`Query parameter "${named.slice(0, 100)}" ${problem}`);
      res.status(error.getStatus()).json(toErrorBody(error));
      return;
    }
    next();
  };
}
