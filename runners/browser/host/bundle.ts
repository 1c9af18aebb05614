/**
 * The page bundle: runners/browser/page/page-entry.ts and everything it imports from src/,
 * bundled by esbuild into one ES module. onnxruntime-web stays external (the page's import
 * map picks the build for the EP). `npm run build` writes dist/browser/page.js; a checkout
 * whose sources are newer than that file (tests, development) gets it rebuilt on demand, when
 * esbuild (a devDependency) is installed.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { projectRoot } from '../../node/provenance.js';

export const PAGE_ENTRY = join(projectRoot, 'runners/browser/page/page-entry.ts');
export const PAGE_BUNDLE = join(projectRoot, 'dist/browser/page.js');
/** esbuild's metafile beside the bundle: the list of inputs the freshness check compares. */
const metaFile = (bundle: string) => bundle.replace(/\.js$/, '.meta.json');

export async function buildPageBundle(outfile = PAGE_BUNDLE): Promise<string> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new Error(`the browser page bundle ${outfile} is missing or stale and esbuild is not installed: run \`npm run build\` in a checkout with devDependencies`);
  }
  const result = await esbuild.build({
    entryPoints: [PAGE_ENTRY],
    outfile,
    absWorkingDir: projectRoot,
    write: false,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external: ['onnxruntime-web'],
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
    // src/ is isomorphic; a node: import reaching the page is a bug, so fail the build on it.
    plugins: [
      {
        name: 'no-node-builtins',
        setup(b) {
          b.onResolve({ filter: /^node:/ }, (a) => ({ errors: [{ text: `${a.path} imported by ${a.importer}: the page bundle must not use Node built-ins` }] }));
        },
      },
    ],
  });
  // Written through temporary files and renames: test files in parallel processes may build at once.
  mkdirSync(dirname(outfile), { recursive: true });
  const put = (path: string, data: string | Uint8Array) => {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  };
  for (const f of result.outputFiles) if (f.path !== outfile) put(f.path, f.contents);
  put(metaFile(outfile), JSON.stringify(result.metafile));
  put(outfile, result.outputFiles.find((f) => f.path === outfile)!.contents);
  return outfile;
}

/** True when the bundle exists and none of its inputs changed after it was written. */
export function bundleIsFresh(bundle = PAGE_BUNDLE): boolean {
  if (!existsSync(bundle) || !existsSync(metaFile(bundle))) return false;
  const built = statSync(bundle).mtimeMs;
  try {
    const meta = JSON.parse(readFileSync(metaFile(bundle), 'utf8')) as { inputs: Record<string, unknown> };
    // Inputs are relative to absWorkingDir (the project root).
    return Object.keys(meta.inputs).every((p) => existsSync(join(projectRoot, p)) && statSync(join(projectRoot, p)).mtimeMs <= built);
  } catch {
    return false;
  }
}

/** The bundle to serve: the built one when fresh (or when sources are absent: an installed package), else rebuilt. */
export async function pageBundle(): Promise<string> {
  if (bundleIsFresh()) return PAGE_BUNDLE;
  if (!existsSync(PAGE_ENTRY) && existsSync(PAGE_BUNDLE)) return PAGE_BUNDLE;
  return buildPageBundle();
}

export function describeBundle(bundle: string): string {
  return relative(projectRoot, bundle);
}
