/**
 * Bundles the inspector (`/inspect`) and the operator dashboard (`/inspect/ops`) with
 * esbuild into content-hashed files, plus `manifest.json` naming each page's script and
 * stylesheet; the service reads the manifest and serves the files with a year's cache.
 * `npm run build` runs it after `nest build`: `ts-node web/inspector/build.ts [outDir]`.
 */
import { build, Metafile } from 'esbuild';
import type { InspectorManifest, InspectorPage } from '../../src/inspect/inspector-assets';
import { INSPECTOR_BUILD_DIR, INSPECTOR_PAGES } from '../../src/inspect/inspector-assets';
import { mkdir, rm, writeFile } from 'fs/promises';
import { basename, join, resolve } from 'path';

export async function buildInspector(outDir = INSPECTOR_BUILD_DIR): Promise<InspectorManifest> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: Object.fromEntries(
      INSPECTOR_PAGES.map((page) => [page, join(__dirname, 'src', `${page}.tsx`)]),
    ),
    outdir: outDir,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    sourcemap: false,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    tsconfig: join(__dirname, 'tsconfig.json'),
  });
  const manifest = manifestOf(result.metafile, outDir);
  await writeFile(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

function manifestOf(metafile: Metafile, outDir: string): InspectorManifest {
  const manifest: Partial<InspectorManifest> = {};
  for (const [file, output] of Object.entries(metafile.outputs)) {
    if (!output.entryPoint) continue;
    const page = basename(output.entryPoint).replace(/\.tsx$/, '') as InspectorPage;
    if (!INSPECTOR_PAGES.includes(page)) continue;
    manifest[page] = {
      script: basename(file),
      ...(output.cssBundle ? { style: basename(output.cssBundle) } : {}),
    };
  }
  for (const page of INSPECTOR_PAGES) {
    if (!manifest[page]) throw new Error(`esbuild wrote no bundle for ${page} into ${outDir}`);
  }
  return manifest as InspectorManifest;
}

if (require.main === module) {
  buildInspector(process.argv[2] ? resolve(process.argv[2]) : undefined).then(
    (manifest) =>
      console.warn(
        `inspector built: ${Object.values(manifest)
          .map((m) => m.script)
          .join(', ')}`,
      ),
    (error: unknown) => {
      console.error(`inspector build failed: ${error instanceof Error ? error.message : error}`);
      process.exit(1);
    },
  );
}
