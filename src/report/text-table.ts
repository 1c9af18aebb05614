import type { TableBlock } from './model.js';

/**
 * A table for a terminal: columns padded to their widest cell, numbers right-aligned, a rule under
 * the header; the caption (what the marks mean) wrapped under it.
 */
export function textTable(t: TableBlock, width = 100): string {
  const cells = [t.columns.map((c) => c.header), ...t.rows.map((r) => r.map((v) => (v === null ? '–' : String(v))))];
  const widths = t.columns.map((_, i) => Math.max(...cells.map((r) => [...(r[i] ?? '')].length)));
  const pad = (s: string, i: number) => {
    const gap = ' '.repeat(widths[i]! - [...s].length);
    return t.columns[i]?.numeric ? gap + s : s + gap;
  };
  const line = (r: string[]) => r.map(pad).join('  ').trimEnd();
  const out = [t.title, line(cells[0]!), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.slice(1).map(line)];
  if (t.caption) out.push('', ...wrap(t.caption, width));
  return out.join('\n');
}

/** Words wrapped to lines of at most `width` characters. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const word of text.split(/\s+/)) {
    if (cur && cur.length + 1 + word.length > width) {
      lines.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(cur);
  return lines;
}
