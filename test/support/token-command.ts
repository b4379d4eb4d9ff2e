import { execFile } from 'child_process';
import { resolve } from 'path';
import { promisify } from 'util';

const ROOT = resolve(__dirname, '../..');

/** `npm run -s token -- <args>` as a user types it; resolves with stdout and stderr. */
export async function runTokenCommand(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ stdout: string; stderr: string }> {
  const childEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...env })) {
    if (value !== undefined) childEnv[key] = value;
  }
  return promisify(execFile)('npm', ['run', '-s', 'token', '--', ...args], {
    cwd: ROOT,
    env: childEnv,
  });
}
