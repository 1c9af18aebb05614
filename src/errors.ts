/** Where in a user's file a problem is. */
export interface SourceLocation {
  file: string;
  line?: number;
  col?: number;
  /** Dotted field path, e.g. methods[1].params.bits */
  field?: string;
}

/**
 * An error the user can act on: what is wrong, where, and a hint. The CLI prints it without a
 * stack trace and exits non-zero.
 */
export class HarnessError extends Error {
  override readonly name = 'HarnessError';
  constructor(
    readonly code: string,
    message: string,
    readonly location?: SourceLocation,
    readonly hint?: string,
  ) {
    super(message);
  }

  /** `file:line:col field: message (hint)` */
  format(): string {
    const l = this.location;
    const where = l ? `${l.file}${l.line ? `:${l.line}${l.col ? `:${l.col}` : ''}` : ''}${l.field ? ` ${l.field}` : ''}: ` : '';
    return `${where}${this.message}${this.hint ? `\n  hint: ${this.hint}` : ''}`;
  }
}

export function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** "did you mean X?" for a misspelt name, or undefined when nothing is close. */
export function didYouMean(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = levenshtein(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? `did you mean "${best}"?` : undefined;
}
