import { existsSync, readFileSync } from 'fs';
import { dirname, join, resolve } from 'path';

/** The inspector's pages, each a bundle of its own. */
export const INSPECTOR_PAGES = ['inspector', 'ops'] as const;
export type InspectorPage = (typeof INSPECTOR_PAGES)[number];

/** `manifest.json` of a build (web/inspector/build.ts): each page's hashed script and stylesheet. */
export type InspectorManifest = Record<InspectorPage, { script: string; style?: string }>;

/** The repository root: the nearest folder with a package.json (from src/ or dist/src/). */
function packageRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** Where `npm run build` puts the bundles. */
export const INSPECTOR_BUILD_DIR = join(packageRoot(__dirname), 'dist', 'inspector');

const TITLES: Record<InspectorPage, string> = {
  inspector: 'Sync inspector',
  ops: 'Sync operations',
};

/**
 * The built browser code: the manifest (read once it exists) and the files it names.
 * Only names from the manifest are served, so no request reaches another file.
 */
export class InspectorAssets {
  private manifest?: InspectorManifest;
  private files = new Set<string>();

  constructor(readonly dir: string = INSPECTOR_BUILD_DIR) {}

  /** The page's HTML shell, or undefined when the bundles are not built. */
  page(page: InspectorPage, options: { localSignIn: boolean }): string | undefined {
    const manifest = this.load();
    if (!manifest) return undefined;
    const { script, style } = manifest[page];
    const styleTag = style ? `\n<link rel="stylesheet" href="/inspect/assets/${style}">` : '';
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${TITLES[page]} · sync-server</title>
<link rel="icon" href="data:,">${styleTag}
<script type="module" src="/inspect/assets/${script}"></script>
</head>
<body data-local-sign-in="${options.localSignIn}">
<div id="app"></div>
<noscript>The inspector needs JavaScript.</noscript>
</body>
</html>
`;
  }

  /** The absolute path of a built file, or undefined for any name the manifest does not list. */
  file(name: string): string | undefined {
    if (!this.load() || !this.files.has(name)) return undefined;
    return resolve(this.dir, name);
  }

  private load(): InspectorManifest | undefined {
    if (this.manifest) return this.manifest;
    let manifest: InspectorManifest;
    try {
      manifest = JSON.parse(
        readFileSync(join(this.dir, 'manifest.json'), 'utf8'),
      ) as InspectorManifest;
    } catch {
      return undefined;
    }
    this.files = new Set(
      INSPECTOR_PAGES.flatMap((p) => [manifest[p].script, manifest[p].style]).filter(
        (f): f is string => typeof f === 'string',
      ),
    );
    this.manifest = manifest;
    return manifest;
  }
}
