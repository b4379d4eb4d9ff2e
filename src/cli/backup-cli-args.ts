import { parseArgs } from 'node:util';

/** The command line of `npm run backup` (parsed apart from the app, so it is cheap to test). */
export const USAGE = `usage: npm run backup -- export --user <id> --out <file.mana>
       npm run backup -- import --user <id> --in <file.mana>`;

export type CliCommand =
  | { command: 'export'; userId: string; file: string }
  | { command: 'import'; userId: string; file: string };

export class UsageError extends Error {}

export function parseCliArgs(argv: readonly string[]): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { user: { type: 'string' }, out: { type: 'string' }, in: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // parseArgs explains over several lines; the first names the argument, and the usage follows.
    throw new UsageError((error as Error).message.split('\n')[0], { cause: error });
  }
  const { positionals, values } = parsed;
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const [command] = positionals;
  if (!values.user) throw new UsageError('--user is required');
  if (command === 'export' && values.out !== undefined && values.in === undefined) {
    return { command, userId: values.user, file: values.out };
  }
  if (command === 'import' && values.in !== undefined && values.out === undefined) {
    return { command, userId: values.user, file: values.in };
  }
  throw new UsageError(
    command === 'export' || command === 'import' ? 'missing --out/--in' : 'unknown command',
  );
}
