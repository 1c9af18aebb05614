import { describe, expect, it } from 'vitest';
import { HarnessError } from '../../src/errors.js';
import { parseResultsJsonl, serializeResult, serializeResults } from '../../src/results/jsonl.js';
import { syntheticRun } from './synthetic-run.js';

const records = syntheticRun({ withFailures: true });

function errorOf(text: string): string {
  try {
    parseResultsJsonl(text, 'out/results.jsonl');
  } catch (e) {
    if (e instanceof HarnessError) return e.format();
    throw e;
  }
  throw new Error('expected an error');
}

describe('results.jsonl codec', () => {
  it('round-trips every record kind, one line each', () => {
    const text = serializeResults(records);
    expect(text.split('\n').filter(Boolean)).toHaveLength(records.length);
    expect(parseResultsJsonl(text, 'r')).toEqual(records);
    expect(serializeResult(records[0]!).endsWith('\n')).toBe(true);
  });

  it('allows blank lines and CRLF', () => {
    expect(parseResultsJsonl(`\n${serializeResults(records.slice(0, 2)).replace(/\n/g, '\r\n')}\n`, 'r')).toHaveLength(2);
  });

  it('a broken line is an error naming file:line', () => {
    const lines = serializeResults(records.slice(0, 3)).split('\n');
    lines[1] = lines[1]!.slice(0, 30);
    expect(errorOf(lines.join('\n'))).toMatch(/^out\/results\.jsonl:2: not valid JSON/);
  });

  it('a missing or mistyped field is named', () => {
    const rec = JSON.parse(serializeResult(records[0]!));
    rec.metrics.compressionRatio = 'high';
    expect(errorOf(JSON.stringify(rec))).toBe('out/results.jsonl:1 metrics.compressionRatio: expected a finite number, got "high"');
    expect(errorOf('{"schemaVersion":1,"cellId":"x","status":"done"}')).toContain('status: expected "ok", "errored" or "skipped", got "done"');
    expect(errorOf('[1,2]')).toContain('expected a result object, got an array');
  });

  it('a record from a newer schema is refused with a hint', () => {
    const rec = JSON.parse(serializeResult(records[0]!));
    rec.schemaVersion = 99;
    const text = errorOf(JSON.stringify(rec));
    expect(text).toMatch(/^out\/results\.jsonl:1 schemaVersion: schemaVersion 99 is newer than this tool understands/);
    expect(text).toContain('\n  hint: upgrade minicache-bench');
  });
});
