/**
 * Small glob matcher for cell patterns: `*` any run of characters, `?` one character,
 * `{a,b}` alternatives; everything else literal (method names contain `+`, `.`, `:`).
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let depth = 0;
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '{') {
      re += '(?:';
      depth++;
    } else if (ch === '}' && depth > 0) {
      re += ')';
      depth--;
    } else if (ch === ',' && depth > 0) re += '|';
    else re += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${re}${')'.repeat(depth)}$`);
}

/**
 * Whether `value` matches a pattern (one glob or a list). With a list, it must match some
 * positive glob (or there are none) and no `!` glob. An absent pattern matches anything, an
 * absent value (a cell without label) matches only an absent pattern or `*`.
 */
export function matchesPattern(value: string | undefined, pattern: string | string[] | undefined): boolean {
  if (pattern === undefined) return true;
  const globs = Array.isArray(pattern) ? pattern : [pattern];
  const positive = globs.filter((g) => !g.startsWith('!'));
  const negative = globs.filter((g) => g.startsWith('!')).map((g) => g.slice(1));
  if (value === undefined) return positive.includes('*') || (positive.length === 0 && negative.length > 0);
  if (negative.some((g) => globToRegExp(g).test(value))) return false;
  return positive.length === 0 || positive.some((g) => globToRegExp(g).test(value));
}
