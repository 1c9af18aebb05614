import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * The browser builds of vega, vega-lite and vega-embed, in load order, read from node_modules so
 * the report carries exactly the versions the charts were validated with and opens offline.
 * The packages' `exports` hide build/ subpaths, so each build is found next to the main entry.
 */
const BUILDS: [pkg: string, file: string][] = [
  ['vega', 'vega.min.js'],
  ['vega-lite', 'vega-lite.min.js'],
  ['vega-embed', 'vega-embed.min.js'],
];

export interface VendorScript {
  name: string;
  version: string;
  source: string;
}

let cached: VendorScript[] | undefined;

export function vendorScripts(): VendorScript[] {
  cached ??= BUILDS.map(([pkg, file]) => {
    const buildDir = dirname(require.resolve(pkg));
    const pkgJson = JSON.parse(readFileSync(join(buildDir, '..', 'package.json'), 'utf8')) as { name: string; version: string };
    if (pkgJson.name !== pkg) throw new Error(`could not locate ${pkg}'s build folder (found ${pkgJson.name} at ${buildDir})`);
    return { name: pkg, version: pkgJson.version, source: readFileSync(join(buildDir, file), 'utf8') };
  });
  return cached;
}
