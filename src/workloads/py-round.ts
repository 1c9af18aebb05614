/**
 * Python's round(): correctly rounded from the exact binary value, ties to even. JS's
 * Math.round rounds ties up and toFixed rounds ties away from zero, so both differ on exact ties
 * (e.g. Python round(12.5) = 12, round(0.125, 2) = 0.12).
 */
export function pyRound(x: number, ndigits = 0): number {
  if (!Number.isFinite(x)) return x;
  if (!Number.isInteger(ndigits) || ndigits < 0 || ndigits > 15) throw new RangeError(`pyRound: ndigits must be an integer in 0..15, got ${ndigits}`);
  // An exact decimal tie x = (2m+1) / (2·10^n) is representable only when x·2^(n+1) is an odd integer.
  const dyadic = x * 2 ** (ndigits + 1);
  if (Number.isInteger(dyadic) && Math.abs(dyadic % 2) === 1) {
    const scaled = x * 10 ** ndigits; // exact: the tie is j·5^n/2 with small j
    const lo = Math.floor(scaled);
    const even = lo % 2 === 0 ? lo : lo + 1;
    return even / 10 ** ndigits;
  }
  // toFixed is correctly rounded from the exact binary value when there is no tie.
  return Number(x.toFixed(ndigits));
}
