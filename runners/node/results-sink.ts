import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { CellResult } from '../../src/results/record.js';

/**
 * results.jsonl of a run folder: one record per line, appended and fsynced as each cell ends,
 * so an interruption loses at most the cell in flight. A torn last line (killed mid-write) is
 * ignored on read and overwritten by the next append.
 */
export class ResultsSink {
  readonly file: string;
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'results.jsonl');
    this.repairTornTail();
  }

  exists(): boolean {
    return existsSync(this.file) && readFileSync(this.file, 'utf8').trim().length > 0;
  }

  read(): CellResult[] {
    if (!existsSync(this.file)) return [];
    const out: CellResult[] = [];
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as CellResult);
      } catch {
        /* torn line from an interrupted write: that cell reruns */
      }
    }
    return out;
  }

  append(record: CellResult): void {
    const fd = openSync(this.file, 'a');
    try {
      appendFileSync(fd, JSON.stringify(record) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  writeJson(name: string, value: unknown): void {
    const path = join(this.dir, name);
    writeFileSync(path + '.tmp', JSON.stringify(value, null, 2) + '\n');
    renameSync(path + '.tmp', path);
  }

  private repairTornTail(): void {
    if (!existsSync(this.file)) return;
    const text = readFileSync(this.file, 'utf8');
    if (text.length === 0 || text.endsWith('\n')) return;
    const cut = text.lastIndexOf('\n') + 1;
    writeFileSync(this.file, text.slice(0, cut));
  }
}
