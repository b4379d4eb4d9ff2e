/** The command line of `npm run backup` (parsed apart from the app, so it is cheap to test). */
export const USAGE = `usage: npm run backup -- export --user <id> --out <file.mana>
       npm run backup -- import --user <id> --in <file.mana>`;

export type CliCommand =
  | { command: 'export'; userId: string; file: string }
  | { command: 'import'; userId: string; file: string };

export class UsageError extends Error {}

export function parseCliArgs(argv: readonly string[]): CliCommand {
  const [command, ...rest] = argv;
  const options = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) {
    const name = rest[i];
    const value = rest[i + 1];
    if (!/^--(user|out|in)$/.test(name) || value === undefined || value.startsWith('--')) {
      throw new UsageError(`unexpected argument "${name}"`);
    }
    options.set(name.slice(2), value);
  }
  const userId = options.get('user');
  if (!userId) throw new UsageError('--user is required');
  if (command === 'export' && options.has('out') && !options.has('in')) {
    return { command, userId, file: options.get('out')! };
  }
  if (command === 'import' && options.has('in') && !options.has('out')) {
    return { command, userId, file: options.get('in')! };
  }
  throw new UsageError(
    command === 'export' || command === 'import' ? 'missing --out/--in' : 'unknown command',
  );
}
