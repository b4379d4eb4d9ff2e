import { readFileSync } from 'fs';
import { dirname, join } from 'path';

/** `<name>/<version>` of the nearest package.json: the same from src/ (ts-node, jest) and dist/. */
export function producedBy(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name) return `${pkg.name}/${pkg.version ?? '0.0.0'}`;
    } catch {
      // no package.json here: look further up
    }
    if (dirname(dir) === dir) return 'sync-server';
  }
}
