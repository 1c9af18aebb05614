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

/**
 * Every problem found in one pass over a file (a suite, a model card, gate rules), so the user
 * fixes them all in one go; each keeps its own place and hint. With one problem it reads exactly
 * as that problem.
 */
export class HarnessErrors extends HarnessError {
  constructor(readonly errors: readonly HarnessError[]) {
    const first = errors[0]!;
    super(first.code, errors.length === 1 ? first.message : `${errors.length} problems`, first.location, first.hint);
  }

  override format(): string {
    if (this.errors.length === 1) return this.errors[0]!.format();
    return `${this.errors.length} problems:\n${this.errors.map((e) => `- ${e.format().replace(/\n/g, '\n  ')}`).join('\n')}`;
  }
}

/** Collects problems while a check goes on, then throws them together. */
export class Problems {
  readonly list: HarnessError[] = [];

  add(e: HarnessError): void {
    // The same message at the same place once (a value included twice, a oneOf read twice).
    if (!this.list.some((x) => x.format() === e.format())) this.list.push(e);
  }

  /** Takes the problems of a check that threw (one HarnessError or several); anything else is rethrown. */
  absorb(e: unknown): void {
    if (e instanceof HarnessErrors) for (const x of e.errors) this.add(x);
    else if (e instanceof HarnessError) this.add(e);
    else throw e;
  }

  get any(): boolean {
    return this.list.length > 0;
  }

  throwIfAny(): void {
    if (this.list.length) throw new HarnessErrors(this.list);
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

/** "did you mean X?" for a misspelt name, or undefined when nothing is close. Names are case-sensitive, and a case-only slip says so. */
export function didYouMean(name: string, known: readonly string[]): string | undefined {
  const sameButCase = known.find((k) => k !== name && k.toLowerCase() === name.toLowerCase());
  if (sameButCase !== undefined) return `did you mean "${sameButCase}"? (names are case-sensitive)`;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = levenshtein(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? `did you mean "${best}"?` : undefined;
}
