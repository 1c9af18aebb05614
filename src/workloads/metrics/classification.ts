/**
 * LongBench `classification_score`, bugs included:
 * 1. every class name that occurs as a substring of the prediction is a match;
 * 2. matches that are substrings of the gold label but not equal to it are removed while the
 *    list is being iterated, so the element after each removed one is skipped (Python's list
 *    iterator advances by index), and `remove` drops the first equal element;
 * 3. score = 1 / len(matches) if the gold label is among them, else 0. The original's fuzzy
 *    fallback for "no match" sits behind `if em_match_list != 0`, which is always true for a
 *    list, so it never runs: no match scores 0.
 */
export function classificationScore(prediction: string, gold: string, allClasses: readonly string[]): number {
  const matches = allClasses.filter((c) => prediction.includes(c));
  for (let i = 0; i < matches.length; i++) {
    const term = matches[i]!;
    if (gold.includes(term) && term !== gold) matches.splice(matches.indexOf(term), 1);
  }
  return matches.includes(gold) ? 1.0 / matches.length : 0.0;
}
