import { Logger } from '@nestjs/common';
import { readFile } from 'fs/promises';
import { resolve } from 'path';
import { Memberships, MembershipProvider } from './membership-provider';

type MembershipFile = Record<string, string[]>;

/**
 * Memberships of local development auth: none, or those of an optional JSON
 * file `{"<userId>": ["<spaceId>", ...]}`, read again on every lookup so edits
 * apply at once (it is small, and this is a development setup).
 */
export class LocalMembershipProvider extends MembershipProvider {
  private readonly logger = new Logger('Memberships');
  private lastProblem?: string;

  private constructor(private readonly file?: string) {
    super();
  }

  /** Fails at start-up, in one line, when the file is missing or malformed. */
  static async open(file: string | undefined): Promise<LocalMembershipProvider> {
    const path = file === undefined ? undefined : resolve(file);
    if (path !== undefined) await readMembershipFile(path);
    return new LocalMembershipProvider(path);
  }

  async membershipsOf(userId: string): Promise<Memberships> {
    if (this.file === undefined) return { spaceIds: [], available: true };
    try {
      const memberships = await readMembershipFile(this.file);
      this.lastProblem = undefined;
      return { spaceIds: memberships[userId] ?? [], available: true };
    } catch (error) {
      const problem = (error as Error).message;
      // Said once per problem, not per request.
      if (problem !== this.lastProblem) this.logger.warn(`${problem}; answering none`);
      this.lastProblem = problem;
      return { spaceIds: [], available: false };
    }
  }
}

export async function readMembershipFile(file: string): Promise<MembershipFile> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`LOCAL_MEMBERSHIPS_FILE ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const valid =
    typeof parsed === 'object' &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    Object.values(parsed).every(
      (ids) => Array.isArray(ids) && ids.every((id) => typeof id === 'string' && id !== ''),
    );
  if (!valid) {
    throw new Error(
      `LOCAL_MEMBERSHIPS_FILE ${file} must be a JSON object mapping user ids to arrays of space ids, e.g. {"alice": ["team-1"]}`,
    );
  }
  return parsed as MembershipFile;
}
