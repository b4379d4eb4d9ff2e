/**
 * Opaque client JSON (record data, field values, actor) is stored as it came and
 * never walked by a transformer. This one cheap, iterative pass bounds it before
 * anything recursive (class-transformer, JSON.stringify, PostgreSQL's jsonb parser)
 * can overflow a stack on it, and refuses what jsonb would silently change.
 */

/** A JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deeper than any real record; far below PostgreSQL's own jsonb stack limit. */
export const MAX_JSON_DEPTH = 64;

export type JsonBoundsProblem =
  | { kind: 'depth'; path: string }
  | { kind: 'non-finite-number'; path: string }
  | { kind: 'nul-character'; path: string };

/**
 * The first problem found in `value`, or undefined. Depth counts containers:
 * a scalar is depth 0, `{}` and `[]` are depth 1. Iterative, so it cannot
 * overflow the stack itself, and it stops at the first problem.
 */
export function findJsonBoundsProblem(
  value: unknown,
  maxDepth: number = MAX_JSON_DEPTH,
): JsonBoundsProblem | undefined {
  // Paths are built only for the problem found: a push of 100 records walks every node.
  const stack: Entry[] = [{ value, depth: 0, key: '', parent: undefined }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const v = item.value;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { kind: 'non-finite-number', path: pathOf(item) };
      continue;
    }
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return { kind: 'nul-character', path: pathOf(item) };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    const depth = item.depth + 1;
    if (depth > maxDepth) return { kind: 'depth', path: pathOf(item) };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ value: v[i], depth, key: i, parent: item });
      }
    } else {
      for (const key of Object.keys(v)) {
        if (key.includes('\u0000')) return { kind: 'nul-character', path: pathOf(item) };
        stack.push({ value: (v as Record<string, unknown>)[key], depth, key, parent: item });
      }
    }
  }
  return undefined;
}

interface Entry {
  value: unknown;
  depth: number;
  key: string | number;
  parent: Entry | undefined;
}

function pathOf(entry: Entry): string {
  const parts: string[] = [];
  for (let e: Entry | undefined = entry; e?.parent; e = e.parent) {
    parts.push(typeof e.key === 'number' ? `[${e.key}]` : `.${e.key}`);
  }
  return parts.reverse().join('');
}

/** One line for a 400: what is wrong and where, e.g. "data.a.b is nested deeper than 64 levels". */
export function describeJsonBoundsProblem(
  problem: JsonBoundsProblem,
  root: string,
  maxDepth: number = MAX_JSON_DEPTH,
): string {
  const where = `${root}${problem.path}`;
  switch (problem.kind) {
    case 'depth':
      return `${where} is nested deeper than ${maxDepth} levels`;
    case 'non-finite-number':
      return `${where} is a number JSON cannot carry exactly (too large or not finite)`;
    case 'nul-character':
      return `${where} contains a \\u0000 character, which cannot be stored`;
  }
}
