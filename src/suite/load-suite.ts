import { Ajv } from 'ajv';
import schema from '../../configs/suite.schema.json' with { type: 'json' };
import { didYouMean, HarnessError, Problems } from '../errors.js';
import { getMethod, methodNames, resolveMethodParams } from '../methods/registry.js';
import { canonicalJson, hash64 } from '../results/canonical-json.js';
import { identityParams } from '../results/cell-id.js';
import { formatPath, parseYamlWithPositions, pointerToPath, type PositionedDoc } from './parse-yaml.js';
import { matchesMethod } from './plan.js';
import type { ResolvedSuite, ResolvedWorkload, SuiteSpec } from './types.js';

/** File access injected by the host (Node reads disk; tests may use a map). */
export interface SuiteFiles {
  read(path: string): string;
  exists(path: string): boolean;
  /** Resolve `rel` against the folder of file `from`. */
  resolve(from: string, rel: string): string;
}

/** Names the suite may use for workloads, with their parameter defaults. Injected to keep this module free of engine imports. */
export type WorkloadCatalogue = Record<string, { defaults: Record<string, unknown>; description?: string }>;

const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: false });
const validateFull = ajv.compile(schema);
const validateFragment = ajv.compile({ ...schema, $id: undefined, required: [] });

/**
 * Load a suite:
 * 1. parse the file and its includes, keeping positions;
 * 2. check each file against the schema (so errors point at the file that has them);
 * 3. merge includes under the suite's own fields and check the result;
 * 4. check method, workload and parameter names and model card paths;
 * 5. apply defaults.
 * Every problem of a step is reported at once (HarnessErrors); a step runs only on a suite whose
 * earlier steps found nothing, so no problem is a consequence of another.
 */
export function loadSuite(file: string, files: SuiteFiles, workloads: WorkloadCatalogue): ResolvedSuite {
  const docs: PositionedDoc[] = [];
  const problems = new Problems();
  const merged = loadWithIncludes(file, files, docs, 0, problems);
  problems.throwIfAny();
  checkSchema(validateFull, merged, docs, problems);
  problems.throwIfAny();
  const spec = merged as unknown as SuiteSpec;
  const locate = (path: (string | number)[]) => locateIn(docs, path);
  const fail = (path: (string | number)[], msg: string, hint?: string): void => {
    problems.add(new HarnessError('suite.invalid', msg, { ...locate(path), field: formatPath(path) }, hint));
  };

  const models = spec.models.map((m, i) => {
    const owner = docs.find((d) => d.locate(['models', i, 'card'])) ?? docs[0]!;
    const card = files.resolve(owner.file, m.card);
    if (!files.exists(card)) fail(['models', i, 'card'], `model card not found: ${card}`, 'give a model card file (model.yaml or model.json), or a folder holding one, relative to the suite file');
    return { id: m.id ?? modelIdFromPath(m.card), card };
  });
  // Cell ids hash the model id: two entries with one id would run (and record) the same cells twice.
  for (const [i, m] of models.entries()) {
    const j = models.findIndex((x) => x.id === m.id);
    if (j < i) fail(['models', i], `model "${m.id}" is already listed as models[${j}]: its cells would run twice`, 'remove one, or give them distinct ids (id: ...)');
  }

  const methods = spec.methods.map((m, i) => {
    const entry = typeof m === 'string' ? { name: m } : m;
    const path = typeof m === 'string' ? ['methods', i] : ['methods', i, 'name'];
    let params: Record<string, unknown> = {};
    const method = getMethod(entry.name);
    if (!method) fail(path, `unknown method "${entry.name}"`, didYouMean(entry.name, methodNames()) ?? `known: ${methodNames().join(', ')}`);
    else {
      const known = Object.keys(method.defaults);
      const unknown = Object.keys(entry.params ?? {}).filter((k) => !known.includes(k));
      for (const k of unknown) fail(['methods', i, 'params', k], `method "${entry.name}" has no parameter "${k}"`, didYouMean(k, known) ?? `known: ${known.join(', ') || 'none'}`);
      if (unknown.length === 0) params = resolveMethodParams(entry.name, entry.params ?? {});
    }
    return { name: entry.name, ...(entry.label ? { label: entry.label } : {}), params };
  });
  const labels = new Set(methods.map((m) => m.label ?? m.name));
  if (labels.size !== methods.length) fail(['methods'], 'two methods share a name; give them distinct labels');

  const suiteBatch = toList(spec.batch ?? 1);
  const workloadsResolved: ResolvedWorkload[] = spec.workloads.map((w, i) => {
    const entry = typeof w === 'string' ? { name: w } : w;
    const path = typeof w === 'string' ? ['workloads', i] : ['workloads', i, 'name'];
    const cat = workloads[entry.name];
    if (!cat) fail(path, `unknown workload "${entry.name}"`, didYouMean(entry.name, Object.keys(workloads)) ?? `known: ${Object.keys(workloads).join(', ')}`);
    for (const [k, v] of cat ? Object.entries(entry.params ?? {}) : []) {
      if (!(k in cat!.defaults)) {
        fail(['workloads', i, 'params', k], `workload "${entry.name}" has no parameter "${k}"`, didYouMean(k, Object.keys(cat!.defaults)) ?? `known: ${Object.keys(cat!.defaults).join(', ')}`);
        continue;
      }
      // A parameter whose default has a type takes that type (promptLen: "abc" would silently run as NaN).
      const want = kindOf(cat!.defaults[k]);
      if (want !== 'null' && v !== null && kindOf(v) !== want) {
        fail(['workloads', i, 'params', k], `workload "${entry.name}" parameter "${k}" must be ${want === 'array' ? 'an array' : `a ${want}`}, got ${JSON.stringify(v)}`, `default: ${JSON.stringify(cat!.defaults[k])}`);
      }
    }
    if (entry.batch !== undefined) {
      const list = toList(entry.batch);
      const dup = list.findIndex((b, j) => list.indexOf(b) !== j);
      if (dup >= 0) fail(['workloads', i, 'batch', dup], `batch size ${list[dup]} is listed twice: its cells would run twice`);
    }
    for (const [j, name] of (entry.methods ?? []).entries()) {
      if (!methods.some((m) => matchesMethod(name, m))) fail(['workloads', i, 'methods', j], `no method labelled "${name}" in this suite`, didYouMean(name, [...labels]));
    }
    return {
      name: entry.name,
      ...(entry.label ? { label: entry.label } : {}),
      batch: entry.batch !== undefined ? toList(entry.batch) : suiteBatch,
      ...(entry.methods ? { methods: entry.methods } : {}),
      params: { ...cat?.defaults, ...(entry.params ?? {}) },
    };
  });
  // The duplicate-cell check below compares resolved workloads: only meaningful on valid ones.
  problems.throwIfAny();

  // Two entries that resolve to the same workload, parameters and label expand into the same cells.
  for (const [i, w] of workloadsResolved.entries()) {
    const j = workloadsResolved.findIndex((x) => x.name === w.name && (x.label ?? '') === (w.label ?? '') && canonicalJson(x.params) === canonicalJson(w.params));
    if (j < i && w.batch.some((b) => workloadsResolved[j]!.batch.includes(b))) {
      fail(['workloads', i], `workload "${w.name}" repeats workloads[${j}] (same parameters and batch sizes): its cells would run twice`, 'remove it, or give it a label or other parameters');
    }
  }
  problems.throwIfAny();

  return {
    name: spec.name,
    description: spec.description ?? '',
    file,
    seed: spec.seed ?? 0,
    runner: spec.runner ?? 'node',
    ep: spec.ep ?? (spec.runner === 'browser' ? 'wasm' : 'cpu'),
    repeats: spec.repeats ?? 1,
    warmup: spec.warmup ?? 1,
    ...(spec.nonFinite ? { nonFinite: spec.nonFinite } : {}),
    ...(spec.engine !== undefined ? { engines: toList(spec.engine) } : {}),
    models,
    methods,
    workloads: workloadsResolved,
  };
}

/**
 * What identifies a suite's run: neither the suite file's path nor the model cards' paths change
 * what runs (cell ids hash the model id, not its card), so the same suite in two checkouts (shards
 * on two machines, a moved folder) hashes the same, and their results merge and resume.
 */
export function suiteHash(suite: ResolvedSuite): string {
  const { file: _file, models, workloads, ...rest } = suite;
  // Data read from a user's folder counts by its content, not by the folder's path.
  const byContent = workloads.map((w) => (w.data ? { ...w, params: identityParams(w.params, true) } : w));
  return hash64(canonicalJson({ ...rest, models: models.map((m) => ({ id: m.id })), workloads: byContent }));
}

/** The suite hash before it left out the model cards' paths: run folders written then still resume. */
export function legacySuiteHash(suite: ResolvedSuite): string {
  const { file: _file, ...rest } = suite;
  return hash64(canonicalJson(rest));
}

/** models/minillama-12l/model.json → minillama-12l; configs/models/stories260K.yaml → stories260K */
export function modelIdFromPath(card: string): string {
  const parts = card.split(/[\\/]/).filter((p) => p && p !== '.');
  let last = parts.pop() ?? card;
  if (/^(model|model-card)\.(json|ya?ml)$/.test(last)) last = parts.pop() ?? last;
  return last.replace(/\.(json|ya?ml)$/, '');
}

function kindOf(v: unknown): string {
  return v === null || v === undefined ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function toList<T>(b: T | T[]): T[] {
  return Array.isArray(b) ? b : [b];
}

function loadWithIncludes(file: string, files: SuiteFiles, docs: PositionedDoc[], depth: number, problems: Problems): Record<string, unknown> {
  if (depth > 8) throw new HarnessError('suite.include', 'includes nested too deeply (a cycle?)', { file });
  let text: string;
  try {
    text = files.read(file);
  } catch {
    throw new HarnessError('suite.missing', `cannot read suite file`, { file });
  }
  const doc = parseYamlWithPositions(text, file);
  if (doc.value === null || typeof doc.value !== 'object' || Array.isArray(doc.value)) {
    throw new HarnessError('suite.invalid', 'a suite must be a YAML mapping (name:, models:, methods:, workloads:)', { file, line: 1 });
  }
  docs.push(doc);
  const before = problems.list.length;
  checkSchema(validateFragment, doc.value, [doc], problems);
  const own = doc.value as Record<string, unknown>;
  let merged: Record<string, unknown> = {};
  // A fragment whose own fields are wrong may name its includes wrongly too: they wait for a fix.
  const includes = problems.list.length === before && Array.isArray(own.include) ? (own.include as string[]) : [];
  for (const [i, inc] of includes.entries()) {
    const path = files.resolve(file, inc);
    if (!files.exists(path)) {
      const pos = doc.locate(['include', i]);
      problems.add(new HarnessError('suite.include', `included file not found: ${path}`, { file, ...pos, field: `include[${i}]` }));
      continue;
    }
    merged = { ...merged, ...loadWithIncludes(path, files, docs, depth + 1, problems) };
  }
  const { include: _inc, ...rest } = own;
  return { ...merged, ...rest };
}

function locateIn(docs: PositionedDoc[], path: (string | number)[]): { file: string; line?: number; col?: number } {
  // The suite file wins over includes, as in the merge; the deepest match wins.
  let best: { file: string; line?: number; col?: number; depth: number } = { file: docs[0]!.file, depth: -1 };
  for (const d of docs) {
    for (let n = path.length; n > best.depth; n--) {
      const pos = d.locate(path.slice(0, n));
      if (pos && hasPath(d.value, path.slice(0, n))) {
        if (n > best.depth) best = { file: d.file, ...pos, depth: n };
        break;
      }
    }
  }
  const { depth: _d, ...loc } = best;
  return loc;
}

function hasPath(value: unknown, path: (string | number)[]): boolean {
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== 'object' || !(k in (v as object))) return false;
    v = (v as Record<string | number, unknown>)[k];
  }
  return true;
}

type Validator = ((v: unknown) => boolean) & { errors?: { instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }[] | null };

function checkSchema(validate: Validator, value: unknown, docs: PositionedDoc[], problems: Problems): void {
  if (validate(value)) return;
  // oneOf produces one error per branch: at each place the most specific (deepest, then by
  // rank) is the useful one, and an error at a place above a reported one is its echo.
  const errors = [...(validate.errors ?? [])].sort((a, b) => pointerToPath(b.instancePath).length - pointerToPath(a.instancePath).length || rank(a.keyword) - rank(b.keyword));
  const reported: string[] = [];
  for (const e of errors) {
    // Where the problem is: an unknown or missing field is its own place, beside its siblings.
    const field = e.keyword === 'additionalProperties' ? e.params.additionalProperty : e.keyword === 'required' ? e.params.missingProperty : undefined;
    const at = field === undefined ? e.instancePath : `${e.instancePath}/${String(field)}`;
    if (reported.some((r) => r === at || r.startsWith(`${at}/`))) continue;
    reported.push(at);
    problems.add(schemaProblem(e, value, docs));
  }
}

function schemaProblem(e: NonNullable<Validator['errors']>[number], value: unknown, docs: PositionedDoc[]): HarnessError {
  const path = pointerToPath(e.instancePath);
  let msg = e.message ?? 'invalid';
  let hint: string | undefined;
  if (e.keyword === 'additionalProperties') {
    const extra = String(e.params.additionalProperty);
    path.push(extra);
    const allowed = allowedKeys(path.slice(0, -1));
    msg = `unknown field "${extra}"`;
    hint = didYouMean(extra, allowed) ?? (allowed.length ? `allowed: ${allowed.join(', ')}` : undefined);
  } else if (e.keyword === 'required') {
    msg = `missing required field "${String(e.params.missingProperty)}"`;
  } else if (e.keyword === 'enum') {
    msg = `${msg}: ${JSON.stringify(e.params.allowedValues)}`;
    const got = valueAt(value, path);
    if (typeof got === 'string') hint = didYouMean(got, (e.params.allowedValues as unknown[]).map(String));
  }
  const got = valueAt(value, path);
  if (e.keyword !== 'additionalProperties' && e.keyword !== 'required') msg += `, got ${JSON.stringify(got)}`;
  return new HarnessError('suite.invalid', msg, { ...locateIn(docs, path), field: formatPath(path) || '(top level)' }, hint);
}

/**
 * Which of several errors at one path to report. A bound (minimum, minItems…) beside a type error
 * means the value has the type of one oneOf branch and breaks only that bound: `batch: 0` must say
 * ">= 1", not "must be array".
 */
function rank(keyword: string): number {
  if (['additionalProperties', 'required', 'enum'].includes(keyword)) return 0;
  if (keyword === 'type') return 2;
  if (keyword === 'oneOf' || keyword === 'anyOf') return 3;
  return 1;
}

function valueAt(value: unknown, path: (string | number)[]): unknown {
  let v = value;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined;
  return v;
}

function allowedKeys(path: (string | number)[]): string[] {
  const named = path.filter((p) => typeof p === 'string') as string[];
  type S = { properties?: Record<string, S>; items?: S | { oneOf?: S[] }; oneOf?: S[] };
  let s: S | undefined = schema as unknown as S;
  for (const key of named) {
    const props: Record<string, S> | undefined = s?.properties;
    s = props?.[key];
    if (!s) return [];
    const items = s.items as (S & { oneOf?: S[] }) | undefined;
    if (items) s = items.oneOf?.find((o) => o.properties) ?? items;
  }
  return Object.keys(s?.properties ?? {});
}
