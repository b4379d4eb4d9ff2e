import { HttpException } from '@nestjs/common';
import { DomainError, ForbiddenError } from '../common/errors/domain-errors';
import { httpExceptionOf } from '../common/errors/http-exception.filter';
import { AuthenticatedUser } from '../auth/authenticated-user';
import { ServiceUnavailableError } from '../common/errors/http-errors';
import { assertMayWriteSpaces, SpaceWriteRefusedError } from '../spaces/space-write.policy';
import { BackupEvent } from './backup-format';

/**
 * The answer to an import that failed after some of its batches had
 * committed: they stay, and the answer says how far it got (`complete: false`).
 * Importing the same archive again skips the stored events and completes it.
 */
export function importIncomplete(cause: unknown, read: number, inserted: number): HttpException {
  // A refusal keeps its status and says why; anything else is the database failing.
  const refusal = cause instanceof DomainError ? httpExceptionOf(cause) : cause;
  const reason =
    refusal instanceof HttpException ? refusal.message : 'the database failed while writing';
  const body = {
    message: `The import stopped after storing ${inserted} of ${read} events (${reason}). Import the same archive again: stored events are skipped, so it completes`,
    complete: false,
    read,
    inserted,
  };
  if (refusal instanceof HttpException) {
    return new HttpException(body, refusal.getStatus(), { cause });
  }
  return new ImportInterruptedError(body);
}

/** A database failure midway: 503 with Retry-After, like every outage, and the import's progress. */
class ImportInterruptedError extends ServiceUnavailableError {
  constructor(private readonly body: { message: string }) {
    super(body.message);
  }

  override getResponse(): object {
    return this.body;
  }
}

/** Restores follow the same space rule as pushes; the message names the line. */
export function assertMayWrite(
  user: AuthenticatedUser,
  event: BackupEvent,
  lineNumber: number,
): void {
  try {
    assertMayWriteSpaces(user, [event.spaceId]);
  } catch (error) {
    if (error instanceof SpaceWriteRefusedError) {
      throw new ForbiddenError(
        `events.jsonl line ${lineNumber}: not a member of space "${event.spaceId}"`,
      );
    }
    throw error;
  }
}
