/**
 * The answer first: each of the paper's headline claims, what this run measured beside it (with
 * its spread), a verdict, and why they differ, from this run's own numbers where they say it
 * (byte components, the cache's share of memory, time per step, layer similarity). README's claims
 * table is the model; the report and summary.md open with this table.
 */
import type { CellResult, OkRecord } from '../../results/record.js';
import { atFloor, BEYOND_MODEL, deltaBetter, FLOOR_SCORE, fp16Index, fp16PairKey, lowerIsBetter, relativeToFp16, workloadMode } from '../cells.js';
import { representativeByMethod } from '../charts/compression.js';
import { noisyValue, okRecords, oursLabel } from '../charts/common.js';
import { pairRows, SURVEY_SERIES } from '../charts/similarity.js';
import { fmtBytes, fmtNumber } from '../markdown.js';
import type { TableBlock } from '../model.js';
import { FLAG_TEXT, fmtSpread, ratioFlag, ratioSpread, type Spread } from '../noise.js';
import { PAPER_COMPRESSION, PAPER_SERVING, paperLongBenchAverage, DEFAULT_PAPER_MODEL } from '../paper-numbers.js';

export interface Claim {
  claim: string;
  paper: string;
  ours: string;
  verdict: string;
  why: string;
}

const MC4 = PAPER_SERVING.method; // minicache+kivi4, the paper's "4-bit MiniCache"
const pct = (x: number) => `${fmtNumber(100 * x, 2)}%`;
const times = (x: number) => `${fmtNumber(x)}×`;

/** "−62.7%" / "+0.9%": a change as a signed percentage. */
function signed(change: number): string {
  return `${change < 0 ? '−' : '+'}${fmtNumber(Math.abs(change) * 100)}%`;
}

/** The components other than the payload, largest first: "the fp16 residual window 31%, scales and zero points 19%". */
function overheads(r: OkRecord): string {
  const b = r.metrics.kvBytesByComponent;
  const total = Object.values(b).reduce((a: number, v) => a + (v ?? 0), 0);
  if (!(total > 0)) return '';
  const parts: [string, number][] = [
    ['the fp16 residual window', b.residual ?? 0],
    ['quantization scales and zero points', (b.scales ?? 0) + (b.zeroPoints ?? 0)],
    ['tokens kept unmerged (with their indices)', (b.retained ?? 0) + (b.indices ?? 0)],
    ['per-token magnitudes', b.magnitudes ?? 0],
  ];
  return parts
    .filter(([, v]) => v / total >= 0.02)
    .sort((x, y) => y[1] - x[1])
    .map(([name, v]) => `${name} ${pct(v / total)}`)
    .join(', ');
}

function compressionClaim(method: string, label: string, reps: Map<string, OkRecord>): Claim | undefined {
  const paper = PAPER_COMPRESSION[method];
  const r = reps.get(method);
  if (!paper || !r) return undefined;
  const ratio = r.metrics.compressionRatio;
  const ok = ratio >= 0.95 * paper.ratio;
  const over = overheads(r);
  return {
    claim: `KV compression, ${label}`,
    paper: `${times(paper.ratio)} (${paper.source})`,
    ours: `${times(ratio)} at ${r.metrics.seqLen} tokens (deterministic: bytes held)`,
    verdict: ok ? 'reproduced' : `lower: ${pct(ratio / paper.ratio)} of the paper's`,
    why: `every byte held is counted${over ? `; of the bytes ${method} holds: ${over}` : ''}${ok ? '' : '. The paper\'s ratios leave out overheads such as the residual window (docs/methods.md)'}`,
  };
}

/** The 4-bit MiniCache serving cell at the largest fixed batch, and its FP16 partner. */
function servingPair(records: readonly CellResult[]): { mc: OkRecord; fp16: OkRecord } | undefined {
  const fp16 = fp16Index(records);
  const serving = okRecords(records)
    .filter((r) => r.cell.method === MC4 && workloadMode(r.cell) !== 'memory-budget' && noisyValue(r, 'decodeTokensPerSecond') !== undefined)
    .sort((a, b) => Number(Boolean(a.cell.label)) - Number(Boolean(b.cell.label)) || b.cell.batch - a.cell.batch);
  for (const mc of serving) {
    const ref = fp16.get(fp16PairKey(mc.cell));
    if (ref && noisyValue(ref, 'decodeTokensPerSecond')) return { mc, fp16: ref };
  }
  return undefined;
}

function repeatsNote(s: Spread): string {
  return s.n < 2 ? '1 repeat' : `${s.n} repeats${s.interleaved ? ', methods interleaved' : ''}`;
}

function throughputClaim(records: readonly CellResult[]): Claim | undefined {
  const pair = servingPair(records);
  if (!pair) return undefined;
  const { mc, fp16 } = pair;
  const s = ratioSpread(mc, fp16, 'decodeTokensPerSecond')!;
  const flag = ratioFlag(s);
  const paper = PAPER_SERVING.throughputSpeedup;
  const verdict =
    s.n < 2
      ? `not settled: ${FLAG_TEXT['one repeat']}`
      : s.hi < 1
        ? 'not reproduced: slower than FP16'
        : s.lo <= 1
          ? 'not reproduced: no difference from FP16 beyond the noise'
          : s.value >= 0.8 * paper
            ? 'reproduced'
            : 'faster than FP16, far less than the paper';
  const kv = fp16.metrics.kvBytes;
  const weights = fp16.metrics.modelWeightBytes;
  const cacheMs = typeof mc.metrics.cacheOpMsPerStep === 'number' ? mc.metrics.cacheOpMsPerStep : undefined;
  const modelMs = typeof mc.metrics.modelMsPerStep === 'number' ? mc.metrics.modelMsPerStep : undefined;
  const why = [
    typeof weights === 'number' ? `FP16's whole KV cache at batch ${mc.cell.batch} is ${fmtBytes(kv)} beside ${fmtBytes(weights)} of weights: the step is bound by the model, not by cache traffic, so a smaller cache cannot speed it up (the paper's gain comes from a 7B model whose FP16 cache fills an 80 GB GPU)` : '',
    cacheMs !== undefined && modelMs !== undefined ? `${MC4}'s cache operations take ${fmtNumber(cacheMs)} ms of each ${fmtNumber(cacheMs + modelMs)} ms step` : '',
  ].filter(Boolean);
  return {
    claim: 'decode throughput vs FP16, 4-bit MiniCache',
    paper: `≈${paper}× (${PAPER_SERVING.model}, ${PAPER_SERVING.setting})`,
    ours: `${fmtSpread(s, fmtNumber, '×')} at batch ${mc.cell.batch} (${repeatsNote(s)})${flag ? ` — ${FLAG_TEXT[flag]}` : ''}`,
    verdict,
    why: why.join('; ') || 'the paper measured a memory-bound 7B model; see the throughput charts',
  };
}

/** Device memory the WGSL engine allocated for a cell (weights + KV store + scratch), where recorded. */
function engineDevice(r: OkRecord): { total: number; weights: number; kvStore: number; scratch: number } | undefined {
  const d = r.metrics.deviceBytesByCategory as { weights?: unknown; kvStore?: unknown; scratch?: unknown } | undefined;
  if (!d || typeof d.weights !== 'number' || typeof d.kvStore !== 'number' || typeof d.scratch !== 'number') return undefined;
  return { total: d.weights + d.kvStore + d.scratch, weights: d.weights, kvStore: d.kvStore, scratch: d.scratch };
}

function memoryClaim(records: readonly CellResult[]): Claim | undefined {
  const pair = servingPair(records);
  if (!pair) return undefined;
  const { mc, fp16 } = pair;
  const kvSaving = 1 - mc.metrics.kvBytes / fp16.metrics.kvBytes;
  const paper = PAPER_SERVING.memoryReduction;
  // On the engine the device memory it allocated is the figure the paper's claim is about
  // (deterministic: bytes allocated, no repeats); the process's RSS is host memory there.
  const devMc = engineDevice(mc);
  const devFp = engineDevice(fp16);
  if (devMc && devFp) {
    const devSaving = 1 - devMc.total / devFp.total;
    return {
      claim: 'memory vs FP16, 4-bit MiniCache',
      paper: `−${paper * 100}% (${PAPER_SERVING.model}, ${PAPER_SERVING.setting})`,
      ours: `device memory the engine allocated ${signed(-devSaving)} (${fmtBytes(devMc.total)} against ${fmtBytes(devFp.total)}: weights, KV store and scratch, peak) at batch ${mc.cell.batch}; KV bytes held ${signed(-kvSaving)}`,
      verdict: devSaving >= 0.8 * paper ? 'reproduced' : kvSaving >= paper ? 'KV cache: reproduced; device memory: not' : 'not reproduced',
      why: `on the engine the device holds the weights (${fmtBytes(devFp.weights)}), the KV store and scratch (activations, workspaces); only the store shrinks: FP16's is ${pct(devFp.kvStore / devFp.total)} of its device memory, and ${MC4}'s scratch is ${fmtBytes(devMc.scratch)} against FP16's ${fmtBytes(devFp.scratch)}`,
    };
  }
  const rss = ratioSpread(mc, fp16, 'peakRssBytes');
  const isolated = Boolean(mc.provenance?.isolated && fp16.provenance?.isolated);
  const oursParts = [`KV bytes held ${signed(-kvSaving)}`];
  if (rss) {
    const saving: Spread = { ...rss, value: 1 - rss.value, lo: 1 - rss.hi, hi: 1 - rss.lo };
    const flag = ratioFlag(rss);
    oursParts.push(
      `peak RSS ${signed(-saving.value)}${saving.n > 1 ? ` [${signed(-saving.hi)} to ${signed(-saving.lo)}]` : ''} at batch ${mc.cell.batch} ${isolated ? '(each cell in its own process)' : '(process-wide: cells run earlier in the same process count too)'}${flag ? ` — ${FLAG_TEXT[flag]}` : ''}`,
    );
  }
  const rssSaving = rss ? 1 - rss.value : undefined;
  const verdict =
    kvSaving >= paper && rssSaving !== undefined && rssSaving < 0.8 * paper
      ? 'KV cache: reproduced; process memory: not'
      : kvSaving >= paper && (rssSaving === undefined || rssSaving >= 0.8 * paper)
        ? 'reproduced'
        : 'not reproduced';
  const fp16Rss = noisyValue(fp16, 'peakRssBytes');
  return {
    claim: 'memory vs FP16, 4-bit MiniCache',
    paper: `−${paper * 100}% (${PAPER_SERVING.model}, ${PAPER_SERVING.setting})`,
    ours: oursParts.join('; '),
    verdict,
    why:
      fp16Rss !== undefined
        ? `FP16's KV cache is ${pct(fp16.metrics.kvBytes / fp16Rss)} of its peak RSS at batch ${mc.cell.batch}: weights, runtime and the buffers the cache is restored into every step are the rest, so compressing the cache moves the total little`
        : 'no peak RSS was recorded',
  };
}

function accuracyClaim(records: readonly CellResult[], paperModel: string): Claim | undefined {
  const fp16 = fp16Index(records);
  const cells = okRecords(records).filter((r) => r.cell.method === MC4 && !r.cell.label && r.tasks?.some((t) => !lowerIsBetter(t.metric)));
  if (cells.length === 0) return undefined;
  const rows: string[] = [];
  const floor: string[] = [];
  let loss = false;
  let measured = 0;
  const agreement: number[] = [];
  for (const r of cells) {
    const ref = fp16.get(fp16PairKey(r.cell));
    for (const t of r.tasks ?? []) {
      if (lowerIsBetter(t.metric)) continue;
      const base = ref?.tasks?.find((x) => x.task === t.task)?.score;
      if (t.agreement) agreement.push(t.agreement.tokenMatch);
      if (atFloor(base, t.metric)) {
        floor.push(t.task);
        continue;
      }
      const d = deltaBetter(t);
      if (!d) continue;
      measured++;
      if (d.hi < 0) loss = true;
      rows.push(`${t.task} Δ ${fmtNumber(d.mean)} [${fmtNumber(d.lo)}, ${fmtNumber(d.hi)}]`);
    }
  }
  const paperAvg = paperLongBenchAverage(paperModel, 'MiniCache');
  const paperBase = paperLongBenchAverage(paperModel, 'Baseline');
  const verdict = measured === 0 ? `not measurable here: every task is ${BEYOND_MODEL}` : loss ? 'not reproduced: a loss beyond the noise' : 'consistent with lossless (every interval reaches 0)';
  const meanAgree = agreement.length ? agreement.reduce((a, b) => a + b, 0) / agreement.length : undefined;
  return {
    claim: 'near-lossless accuracy (LongBench), 4-bit MiniCache',
    paper: paperAvg !== undefined && paperBase !== undefined ? `${paperAvg} vs FP16 ${paperBase} average (${paperModel})` : 'within about a point of FP16',
    ours: [rows.join('; '), floor.length ? `${floor.length} task(s) ${BEYOND_MODEL} (FP16 ≤ ${FLOOR_SCORE}): ${floor.join(', ')}` : ''].filter(Boolean).join('; '),
    verdict,
    why: [
      'Δ is the paired per-item difference to FP16 (+ = better) with its 95% CI',
      meanAgree !== undefined ? `generated tokens agree with FP16's ${pct(meanAgree)} of the time` : '',
      floor.length ? `a task FP16 scores ≤ ${FLOOR_SCORE} on says nothing about the cache` : '',
    ]
      .filter(Boolean)
      .join('; '),
  };
}

/** Mean cosine of adjacent layers' keys and values in an all-pairs survey (the similarity workload). */
function layerSimilarity(records: readonly CellResult[]): { keys: number; values: number } | undefined {
  const rows = pairRows(records).filter((r) => r.method === SURVEY_SERIES);
  const mean = (kv: 'keys' | 'values') => {
    const xs = rows.filter((r) => r.kv === kv).map((r) => r.cos);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;
  };
  const keys = mean('keys');
  const values = mean('values');
  return keys === undefined || values === undefined ? undefined : { keys, values };
}

function perplexityClaim(records: readonly CellResult[]): Claim | undefined {
  const fp16 = fp16Index(records);
  const methods = ['minicache', MC4];
  const cells = okRecords(records).filter((r) => methods.includes(r.cell.method) && !r.cell.label && r.tasks?.some((t) => t.task === 'perplexity'));
  const rows: string[] = [];
  let worst: number | undefined;
  let refScore: number | undefined;
  for (const r of cells) {
    const t = r.tasks!.find((x) => x.task === 'perplexity')!;
    const ref = fp16.get(fp16PairKey(r.cell))?.tasks?.find((x) => x.task === 'perplexity');
    if (!ref) continue;
    refScore = ref.score;
    const rel = relativeToFp16(t.score, ref.score, t.metric)!;
    worst = worst === undefined ? rel : Math.min(worst, rel);
    const d = deltaBetter(t);
    rows.push(`${r.cell.method} ${fmtNumber(t.score)} (FP16 ÷ ours ${times(rel)}${d ? `; Δ ${fmtNumber(d.mean)} [${fmtNumber(d.lo)}, ${fmtNumber(d.hi)}], + = better` : ''})`);
  }
  if (rows.length === 0 || worst === undefined) return undefined;
  const sim = layerSimilarity(records);
  return {
    claim: 'merging adjacent layers is near-lossless (perplexity through the cache)',
    paper: 'near-lossless merging from the middle layer on (its models: adjacent-layer K/V cosine ≥ 0.8 in the deeper half, Fig. 1a)',
    ours: `FP16 ${fmtNumber(refScore)}; ${rows.join('; ')}`,
    verdict: worst >= 0.95 ? 'reproduced' : 'not reproduced: merging costs this model accuracy',
    why: sim
      ? `in this model adjacent layers' keys have mean cosine ${fmtNumber(sim.keys, 2)} and values ${fmtNumber(sim.values, 2)} (all adjacent pairs), so merging them loses information`
      : 'merging assumes adjacent layers\' K/V point the same way; the similarity workload measures it',
  };
}

export function headlineClaims(records: readonly CellResult[], paperModel = DEFAULT_PAPER_MODEL): Claim[] {
  const reps = representativeByMethod(records);
  return [
    compressionClaim(MC4, '4-bit MiniCache (minicache+kivi4)', reps),
    compressionClaim('minicache', 'MiniCache alone (merging)', reps),
    throughputClaim(records),
    memoryClaim(records),
    accuracyClaim(records, paperModel),
    perplexityClaim(records),
  ].filter((c): c is Claim => c !== undefined);
}

/** The headline block: the paper's claims, ours beside them, verdict and why. */
export function headlineTable(records: readonly CellResult[], paperModel = DEFAULT_PAPER_MODEL): TableBlock | null {
  const claims = headlineClaims(records, paperModel);
  if (claims.length === 0) return null;
  return {
    kind: 'table',
    id: 'headline',
    title: "The paper's claims and what this run measured",
    caption: `Paper: its own model and hardware; ours: ${oursLabel(records).replace(/^ours \((.*)\)$/, '$1')}. Ranges are the repeats' (for a ratio: our slowest repeat over FP16's fastest to our fastest over FP16's slowest); figures from one repeat, or whose range is wider than their difference from FP16, say so.`,
    columns: [{ header: 'claim (paper)' }, { header: 'paper' }, { header: oursLabel(records) }, { header: 'verdict' }, { header: 'why' }],
    rows: claims.map((c) => [c.claim, c.paper, c.ours, c.verdict, c.why]),
  };
}
