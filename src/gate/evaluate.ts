import { cellSubject, fp16Index, fp16PairKey, FP16_METHOD, byCellId } from '../report/cells.js';
import type { CellResult, OkRecord } from '../results/record.js';
import { matchesPattern } from './glob.js';
import { metricDef, type Measurement, type MetricDef } from './metric-catalog.js';
import type { CheckOutcome, GateCheck, GateReport, GateRule, RuleVerdict } from './types.js';

export interface GateInput {
  records: readonly CellResult[];
  /** Records of the baseline run; undefined when no baseline was given. */
  baseline?: readonly CellResult[];
  rules: readonly GateRule[];
  /** Problems found while reading the inputs; any makes the gate unusable (exit 2). */
  inputErrors?: readonly string[];
}

/**
 * Evaluate every rule against the records.
 *
 * Phases: match cells by pattern → find each cell's reference (FP16 cell of the same run, the
 * baseline cell with the same id, or the rule's bound) → measure (median over repeats for noisy
 * metrics, the value itself for deterministic ones) → compare → verdict per rule → exit code.
 * Missing data never passes: a cell without its reference or a skipped cell makes the rule
 * unusable; an errored cell fails it. What was not asked for is skipped, with a note: a
 * vs-baseline rule when no baseline is given, and (without a baseline) a rule that no cell of the
 * run carries data for, such as a KIVI perplexity rule on a run without KIVI perplexity cells.
 * With a baseline the run is held to the baseline's cells, so a rule that matches nothing is
 * unusable there. A gate where every rule was skipped checked nothing: unusable.
 */
export function evaluateGate(input: GateInput): GateReport {
  const ctx: EvalContext = {
    records: [...input.records].sort(byCellId),
    baseline: input.baseline ? new Map(input.baseline.map((r) => [r.cellId, r])) : undefined,
    baselineList: input.baseline ? [...input.baseline].sort(byCellId) : undefined,
    fp16: fp16Index(input.records),
  };
  const verdicts = input.rules.map((rule) => evaluateRule(rule, ctx));
  const inputErrors = [...(input.inputErrors ?? [])];
  if (verdicts.length > 0 && verdicts.every((v) => v.outcome === 'skipped')) inputErrors.push('no rule applies to this run: every rule was skipped (see each rule\'s note)');
  return { verdicts, inputErrors, exitCode: exitCodeOf(verdicts, inputErrors) };
}

export function exitCodeOf(verdicts: readonly RuleVerdict[], inputErrors: readonly string[]): 0 | 1 | 2 {
  if (inputErrors.length > 0 || verdicts.length === 0 || verdicts.every((v) => v.outcome === 'skipped')) return 2;
  if (verdicts.some((v) => v.outcome === 'unusable')) return 2;
  if (verdicts.some((v) => v.outcome === 'fail' && v.rule.level === 'error')) return 1;
  return 0;
}

interface EvalContext {
  records: CellResult[];
  baseline?: Map<string, CellResult>;
  baselineList?: CellResult[];
  fp16: Map<string, OkRecord>;
}

function cellMatches(rule: GateRule, r: CellResult): boolean {
  const p = rule.cells ?? {};
  return (
    matchesPattern(r.cell.model, p.model) &&
    matchesPattern(r.cell.method, p.method) &&
    matchesPattern(r.cell.workload, p.workload) &&
    matchesPattern(r.cell.label, p.label)
  );
}

function evaluateRule(rule: GateRule, ctx: EvalContext): RuleVerdict {
  const def = metricDef(rule.metric);
  if (!def) return verdict(rule, [], `unknown metric "${rule.metric}"`);
  if (rule.kind === 'vs-baseline' && !ctx.baseline) return skipped(rule, 'skipped: compares with a baseline run, and none was given (--baseline DIR)');
  const matched = ctx.records.filter((r) => cellMatches(rule, r) && !(rule.kind === 'vs-fp16' && r.cell.method === FP16_METHOD));
  const checks = matched.flatMap((r) => checkRecord(rule, def, r, ctx));
  if (rule.kind === 'vs-baseline') {
    const present = new Set(ctx.records.map((r) => r.cellId));
    for (const b of ctx.baselineList!) {
      if (cellMatches(rule, b) && !present.has(b.cellId)) {
        checks.push({ outcome: 'unusable', cellId: b.cellId, subject: cellSubject(b.cell), note: 'baseline cell missing from this run' });
      }
    }
  }
  if (checks.length === 0 && !ctx.baseline) return skipped(rule, `skipped: no cell of this run has ${rule.metric}${rule.cells ? ` among ${patternText(rule)}` : ''}`);
  return verdict(rule, checks, `matches no cell with metric ${rule.metric}`);
}

function skipped(rule: GateRule, summary: string): RuleVerdict {
  return { rule, outcome: 'skipped', checks: [], summary };
}

/** `method kivi2|kivi4, task perplexity`: a rule's cell pattern in a note. */
function patternText(rule: GateRule): string {
  return Object.entries(rule.cells ?? {})
    .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join('|') : String(v)}`)
    .join(', ');
}

function checkRecord(rule: GateRule, def: MetricDef, r: CellResult, ctx: EvalContext): GateCheck[] {
  const base = { cellId: r.cellId, subject: cellSubject(r.cell) };
  if (r.status !== 'ok' && def.scope === 'task' && !couldMeasureTask(rule, r, ctx)) return [];
  if (r.status === 'skipped') return [{ ...base, outcome: 'unusable', note: `cell skipped: ${r.reason}` }];
  if (r.status === 'errored') return [{ ...base, outcome: 'fail', note: `cell errored: ${r.error.message}` }];
  const ours = measure(def, r, rule);
  if (rule.kind === 'absolute') return ours.map((m) => compare(rule, base, m, undefined));

  const ref = rule.kind === 'vs-fp16' ? ctx.fp16.get(fp16PairKey(r.cell)) : ctx.baseline!.get(r.cellId);
  const refName = rule.kind === 'vs-fp16' ? 'FP16 cell of this run' : 'baseline cell';
  if (!ref) {
    // A cell without the metric needs no reference: it is simply not covered by this rule.
    return ours.length === 0 ? [] : [{ ...base, outcome: 'unusable', note: `no ${refName} with the same setup` }];
  }
  if (ref.status !== 'ok') return [{ ...base, outcome: 'unusable', note: `${refName} is ${ref.status}` }];
  const theirs = new Map(measure(def, ref, rule).map((m) => [m.subject, m]));
  if (ours.length === 0 && theirs.size > 0) return [{ ...base, outcome: 'unusable', note: `${rule.metric} missing here but present in the ${refName}` }];
  return ours.map((m) => {
    const t = theirs.get(m.subject);
    if (!t) return { ...base, task: m.subject || undefined, value: m.value, outcome: 'unusable' as const, note: `${rule.metric} missing in the ${refName}` };
    return compare(rule, base, m, t);
  });
}

/**
 * Whether a cell that did not finish would have scored a task the rule covers: an errored lcc
 * cell fails a rule on lcc, an errored perplexity or generate cell does not. Told by the tasks the
 * cell lists, else by the finished cells of its workload and model; with neither, it counts.
 */
function couldMeasureTask(rule: GateRule, r: CellResult, ctx: EvalContext): boolean {
  const pattern = rule.cells?.task;
  const covered = (task: string) => pattern === undefined || matchesPattern(task, pattern);
  const listed = (r.cell.workloadParams as Record<string, unknown> | undefined)?.tasks;
  if (Array.isArray(listed)) return listed.some((t) => typeof t === 'string' && covered(t));
  const siblings = ctx.records.filter((x): x is OkRecord => x.status === 'ok' && x.cell.workload === r.cell.workload && x.cell.model === r.cell.model);
  if (siblings.length === 0) return true;
  return siblings.some((x) => (x.tasks ?? []).some((t) => covered(t.task)));
}

function measure(def: MetricDef, r: OkRecord, rule: GateRule): Measurement[] {
  const all = def.measure(r);
  return def.scope === 'task' ? all.filter((m) => matchesPattern(m.subject, rule.cells?.task)) : all;
}

function compare(rule: GateRule, base: { cellId: string; subject: string }, ours: Measurement, ref: Measurement | undefined): GateCheck {
  const check: GateCheck = { ...base, outcome: 'pass', value: ours.value, reference: ref?.value };
  if (ours.subject) check.task = ours.subject;
  if (rule.equal) {
    if (ours.value !== ref?.value) Object.assign(check, { outcome: 'fail', note: 'differs from the reference' });
    return check;
  }
  if (typeof ours.value !== 'number' || (ref && typeof ref.value !== 'number')) {
    return Object.assign(check, { outcome: 'unusable', note: `${rule.metric} can only be compared with equal: true` });
  }
  let x = ours.value;
  if (ref) {
    const r = ref.value as number;
    x = r === 0 ? (x === 0 ? 1 : x > 0 ? Infinity : -Infinity) : x / r;
    check.ratio = x;
  }
  if (rule.min !== undefined && !(x >= rule.min)) Object.assign(check, { outcome: 'fail', note: `${fmt(x)} < min ${rule.min}` });
  else if (rule.max !== undefined && !(x <= rule.max)) Object.assign(check, { outcome: 'fail', note: `${fmt(x)} > max ${rule.max}` });
  return check;
}

const fmt = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(4)).toString() : String(x));

/** How close a passing check came to its bound (smaller = closer); failing ones sort first. */
function margin(rule: GateRule, c: GateCheck): number {
  const x = c.ratio ?? (typeof c.value === 'number' ? c.value : undefined);
  if (x === undefined) return Infinity;
  return Math.min(rule.min !== undefined ? x - rule.min : Infinity, rule.max !== undefined ? rule.max - x : Infinity);
}

function verdict(rule: GateRule, checks: GateCheck[], emptyReason: string): RuleVerdict {
  if (checks.length === 0) return { rule, outcome: 'unusable', checks, summary: emptyReason };
  const rank: Record<CheckOutcome, number> = { unusable: 0, fail: 1, pass: 2 };
  const outcome = checks.reduce<CheckOutcome>((w, c) => (rank[c.outcome] < rank[w] ? c.outcome : w), 'pass');
  const bad = checks.filter((c) => c.outcome === outcome && outcome !== 'pass');
  const worst = bad[0] ?? [...checks].sort((a, b) => margin(rule, a) - margin(rule, b))[0]!;
  const where = `${worst.subject}${worst.task ? ` · ${worst.task}` : ''}`;
  const shown = worst.ratio !== undefined ? `ratio ${fmt(worst.ratio)}` : typeof worst.value === 'number' ? `value ${fmt(worst.value)}` : 'equal';
  const summary =
    outcome === 'pass'
      ? `${checks.length} checks pass; closest: ${where} (${shown})`
      : `${bad.length} of ${checks.length} checks ${outcome === 'fail' ? 'failed' : 'unusable'}; first: ${where}: ${worst.note ?? ''}`;
  return { rule, outcome, checks, summary };
}
