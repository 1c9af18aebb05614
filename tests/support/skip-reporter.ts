/**
 * Lists every skipped test with its reason at the end of the run, so a test that did not run is
 * never mistaken for one that passed. With MINICACHE_TESTS_STRICT=1 (`.ci/run` sets it) the run
 * fails when a test was skipped for a missing system part (tests/support/parts.ts: every part it
 * names is one CI installs) or skipped without a reason.
 */
import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/** The note of a test skipped for a missing part: `<part> missing: <what to install>` (skipNote). */
const MISSING_PART = / missing: /;

export interface SkippedTest {
  file: string;
  name: string;
  note: string | undefined;
}

/** Skips that fail a strict run: a missing part, or no reason given. */
export function strictFailures(skipped: readonly SkippedTest[]): SkippedTest[] {
  return skipped.filter((s) => !s.note || MISSING_PART.test(s.note));
}

export function skipListing(skipped: readonly SkippedTest[]): string[] {
  if (skipped.length === 0) return ['No test was skipped.'];
  return [`Skipped tests (${skipped.length}):`, ...skipped.map((s) => `  - ${s.file} > ${s.name}: ${s.note ?? '(no reason given)'}`)];
}

export default class SkipReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const skipped: SkippedTest[] = [];
    const missingParts = new Map<string, number>();
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const r = t.result();
        if (r.state === 'skipped') skipped.push({ file: relative(process.cwd(), m.moduleId), name: t.fullName, note: r.note });
        // A required part that is missing fails its tests (MissingPartError): say it once more, here.
        for (const e of r.state === 'failed' ? r.errors : []) {
          if (e.name === 'MissingPartError') missingParts.set(e.message, (missingParts.get(e.message) ?? 0) + 1);
        }
      }
    }
    const out = ['', ...skipListing(skipped)];
    for (const [message, n] of missingParts) out.push(`${n} test(s) failed because a required part is missing: ${message}`);
    const strict = process.env.MINICACHE_TESTS_STRICT === '1';
    const bad = strict ? strictFailures(skipped) : [];
    if (bad.length) {
      out.push(`MINICACHE_TESTS_STRICT: ${bad.length} test(s) skipped for a missing part CI installs, or without a reason: failing the run.`);
      process.exitCode = 1;
    }
    process.stdout.write(`${out.join('\n')}\n`);
  }
}
