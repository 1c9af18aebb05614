/**
 * Markdown for PR comments and $GITHUB_STEP_SUMMARY. Strings from results (model, method, task
 * names, error messages) are escaped so they render as the text they are: GitHub renders raw
 * HTML and link syntax inside Markdown, and a `|` would break the table.
 */
export function mdText(text: string): string {
  return text
    .replace(/\r?\n/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|#~!])/g, '\\$1');
}

export function mdTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A number for a table: up to `digits` significant decimals, thousands kept readable. */
export function fmtNumber(x: number | undefined, digits = 3): string {
  if (x === undefined || !Number.isFinite(x)) return x === undefined ? '–' : String(x);
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(digits)).toString();
}

export function fmtBytes(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = x;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}
