/**
 * System parts some tests need beyond the checkout, and what a test does without one:
 *  - a part the README's set-up asks for (Chromium, the built dist/) is required: its tests fail
 *    with what to install, so a missing part never reads as a pass;
 *  - a part no CI machine has (a GPU's Vulkan driver, onnxruntime's CUDA binaries) skips its tests
 *    with a note saying why; tests/support/skip-reporter.ts lists every skip at the end of the run.
 * Everything else a test reads (models, data, fixtures) is in the repository.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { findChromium } from '../../runners/browser/host/launch.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Part {
  /** What it is, as the notes and messages name it. */
  name: string;
  present: boolean;
  /** Where it was found, or what to do to get it. */
  detail: string;
  /** Required parts fail their tests when missing; optional ones skip them. */
  required: boolean;
}

/** The note a test skipped for `part` carries: the skip reporter and `.ci/run` read its prefix. */
export function skipNote(part: Part): string {
  return `${part.name} missing: ${part.detail}`;
}

/** Thrown in place of a test that needs a required part that is not there. */
export class MissingPartError extends Error {
  override readonly name = 'MissingPartError';
}

function chromiumPart(): Part {
  try {
    const found = findChromium();
    return { name: 'Chromium', present: true, detail: `${found.path} (${found.source})`, required: true };
  } catch (e) {
    const { message, hint } = e as { message: string; hint?: string };
    return { name: 'Chromium', present: false, detail: `the browser-runner and report tests need one (${message}): ${hint ?? ''} (README, "Set-up")`, required: true };
  }
}

/** The Chromium the browser tests launch (call only inside tests that need PARTS.chromium). */
export function chromiumExecutable(): string {
  return findChromium().path;
}

/** The CLI the end-to-end tests spawn; `npm test` builds it first. */
export const CLI = join(ROOT, 'dist/runners/node/cli.js');

export const PARTS = {
  chromium: chromiumPart(),
  cli: {
    name: 'the built CLI (dist/)',
    present: existsSync(CLI),
    detail: existsSync(CLI) ? CLI : `${CLI} is not built: run \`npm run build\` (\`npm test\` does it before the tests)`,
    required: true,
  },
  // onnxruntime-node's WebGPU EP runs on the Vulkan driver VK_DRIVER_FILES names; vitest.config.ts
  // points it at Chromium's SwiftShader when nothing else is named, so only machines without
  // Chromium's copy lack it.
  vulkan: {
    name: 'a Vulkan driver',
    present: Boolean(process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES),
    detail: 'the WebGPU EP tests need one: set VK_DRIVER_FILES (a GPU driver, or Chromium\'s /usr/lib/chromium/vk_swiftshader_icd.json with LD_LIBRARY_PATH=/usr/lib/chromium)',
    required: false,
  },
  // The project's WGSL engine (the `webgpu` package, Dawn) on the same Vulkan driver: in CI that is
  // Chromium's SwiftShader, which the README's set-up installs, so engine tests require it.
  webgpu: {
    name: 'a WebGPU adapter for the engine (Vulkan)',
    present: Boolean(process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES),
    detail: 'the engine tests run on SwiftShader: install Chromium (Debian: apt-get install -y chromium), whose Vulkan driver vitest.config.ts then names, or set VK_DRIVER_FILES to a GPU\'s Vulkan driver',
    required: true,
  },
} satisfies Record<string, Part>;

/** onnxruntime-node's CUDA provider library, present only where someone installed it on purpose. */
export const CUDA_PROVIDER_INSTALLED = existsSync(join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '../bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so'));

function missing(parts: readonly Part[]): Part | undefined {
  return parts.find((p) => !p.present);
}

/**
 * `describe` when every part is there. Otherwise one test in its place: failing with what to
 * install for a required part, skipped with the reason for an optional one.
 */
export function describeWith(parts: readonly Part[], title: string, body: () => void): void {
  const gone = missing(parts);
  if (!gone) {
    describe(title, body);
    return;
  }
  describe(title, () => {
    if (gone.required) {
      it(`needs ${gone.name}`, () => {
        throw new MissingPartError(skipNote(gone));
      });
    } else {
      it(`needs ${gone.name}`, (ctx) => ctx.skip(skipNote(gone)));
    }
  });
}

/** `it` when every part is there; otherwise a failing (required part) or skipped (optional part) test. */
export function itWith(parts: readonly Part[], title: string, body: () => Promise<void> | void, timeout?: number): void {
  const gone = missing(parts);
  if (!gone) it(title, body, timeout);
  else if (gone.required) {
    it(title, () => {
      throw new MissingPartError(skipNote(gone));
    });
  } else it(title, (ctx) => ctx.skip(skipNote(gone)));
}

/** A test that only means something where a condition holds (not a missing part): skipped with its reason. */
export function itWhen(condition: boolean, reason: string, title: string, body: () => Promise<void> | void, timeout?: number): void {
  if (condition) it(title, body, timeout);
  else it(title, (ctx) => ctx.skip(reason));
}
