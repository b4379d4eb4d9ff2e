import { JsonItem, JsonText } from '../common/json-text';

/** One page of changes, each already the JSON text of a wire change (the store builds it). */
export interface WirePage {
  /** The changes' JSON texts, to be joined by commas (an item may hold several changes). */
  changes: readonly JsonItem[];
  /** How many changes. */
  count: number;
  syncedUntil: string;
  hasMore: boolean;
}

/** A push or pull answer: `{serverChanges, conflicts, syncedUntil, hasMore}`. */
export function syncResponseText(page: WirePage): JsonText {
  return new JsonText(
    '{"serverChanges":[',
    page.changes,
    `],"conflicts":[],"syncedUntil":${JSON.stringify(page.syncedUntil)},"hasMore":${page.hasMore}}`,
  );
}

/** The data of an SSE `changes` event: `{table, changes, syncedUntil, hasMore}`. */
export function changesEventText(table: string, page: WirePage): JsonText {
  return new JsonText(
    `{"table":${JSON.stringify(table)},"changes":[`,
    page.changes,
    `],"syncedUntil":${JSON.stringify(page.syncedUntil)},"hasMore":${page.hasMore}}`,
  );
}
