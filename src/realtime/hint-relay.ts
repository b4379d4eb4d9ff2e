import type { CommittedChange } from '../store/change-log';

export type HintHandler = (hints: readonly CommittedChange[]) => void;

/**
 * Carries hints of this instance's commits to the other instances of the database, and
 * theirs here. Swappable through DI (`{ provide: HintRelay, useClass: ... }`): the default,
 * PostgresHintRelay, uses NOTIFY/LISTEN on a connection of its own. Hints are only hints:
 * one lost is found by the log sweep, and the cursor read is the authority.
 */
export abstract class HintRelay {
  /** Called after COMMIT; never waits for the other instances, never throws. */
  abstract publish(hints: readonly CommittedChange[]): void;

  /** Hints of the other instances' commits. */
  abstract onHints(handler: HintHandler): () => void;
}
