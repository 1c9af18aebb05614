/**
 * Python string semantics the LongBench metrics depend on, so scores match the Python originals
 * character for character. Unicode tables are the JS engine's (Python 3.11 ships Unicode 14);
 * they differ only for characters assigned after that.
 */

/** Characters for which Python's str.isspace() is true (a regex class body); str.split() with no argument splits on runs of them. */
export const PY_WHITESPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WHITESPACE_RUN = new RegExp(`[${PY_WHITESPACE}]+`, 'u');

/** Python `s.split()`: split on whitespace runs, no empty pieces. */
export function pySplit(s: string): string[] {
  return s.split(PY_WHITESPACE_RUN).filter((w) => w.length > 0);
}

/** Python `s.lstrip(chars)`. */
export function pyLstrip(s: string, chars: string): string {
  let i = 0;
  while (i < s.length && chars.includes(s[i]!)) i++;
  return s.slice(i);
}

/** Python's `string.punctuation`. */
export const PY_ASCII_PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/**
 * Python's `re` word character for str patterns: alphanumeric (str.isalnum) or underscore.
 * JS's \w and \b are ASCII-only, so boundaries are built from this class instead.
 */
export const PY_WORD_CHAR = '[\\p{L}\\p{N}_]';

/** Python `re.findall(r"\d+", s)`: \d is any Unicode decimal digit (Nd) in Python 3. */
export function pyFindDigitRuns(s: string): string[] {
  return s.match(/\p{Nd}+/gu) ?? [];
}

/** Code points (Python string indexing), not UTF-16 units. */
export function codePoints(s: string): string[] {
  return Array.from(s);
}
