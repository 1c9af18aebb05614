/**
 * Agreement of a method's generated tokens with FP16's for the same prompt. Sensitive even where
 * task scores are low: a compressed cache that changes any token shows up here first.
 */

/**
 * Positionwise token match: #{i : a[i] = b[i]} / max(|a|, |b|). Tokens past the shorter output
 * count as mismatches, so stopping early or running on is penalised; two empty outputs agree (1).
 */
export function tokenMatchRate(a: readonly number[], b: readonly number[]): number {
  const len = Math.max(a.length, b.length);
  if (len === 0) return 1;
  let same = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] === b[i]) same++;
  return same / len;
}

/** Length of the longest common subsequence (two-row dynamic programme). */
export function lcsLength<T>(a: readonly T[], b: readonly T[]): number {
  let prev = new Int32Array(b.length + 1);
  let cur = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/**
 * ROUGE-L F1 over token ids (multiset, no sentence splitting): P = LCS/|a|, R = LCS/|b|,
 * F = 2PR/(P+R) = 2·LCS/(|a|+|b|). Two empty outputs agree (1); one empty gives 0.
 */
export function rougeLTokens(a: readonly number[], b: readonly number[]): number {
  if (a.length + b.length === 0) return 1;
  return (2 * lcsLength(a, b)) / (a.length + b.length);
}

export interface Agreement {
  tokenMatch: number;
  rougeL: number;
}

/** Per-item agreement of a method's outputs with the baseline's (same item order). */
export function agreementPerItem(method: readonly (readonly number[])[], baseline: readonly (readonly number[])[]): Agreement[] {
  if (method.length !== baseline.length) throw new Error(`agreement: ${method.length} method outputs but ${baseline.length} baseline outputs`);
  return method.map((m, i) => ({ tokenMatch: tokenMatchRate(m, baseline[i]!), rougeL: rougeLTokens(m, baseline[i]!) }));
}

/** Mean agreement over items, as TaskScore.agreement carries it. */
export function meanAgreement(items: readonly Agreement[]): Agreement {
  if (items.length === 0) throw new Error('agreement of no items');
  let t = 0;
  let r = 0;
  for (const x of items) {
    t += x.tokenMatch;
    r += x.rougeL;
  }
  return { tokenMatch: t / items.length, rougeL: r / items.length };
}
