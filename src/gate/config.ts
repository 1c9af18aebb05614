import { Ajv, type ErrorObject } from 'ajv';
import { didYouMean, HarnessError, Problems } from '../errors.js';
import { formatPath, parseYamlWithPositions, pointerToPath, type PositionedDoc } from '../suite/parse-yaml.js';
import { gatesSchema } from './gates-schema.js';
import { metricDef, metricNames } from './metric-catalog.js';
import type { GateConfig, GateRule } from './types.js';

const validate = new Ajv({ allErrors: true, strict: false, useDefaults: true }).compile(gatesSchema);

/**
 * gates.yaml text → rules, or HarnessErrors naming `file:line:col field` and what was expected,
 * every problem of a phase at once. Phases: YAML with positions → schema (defaults applied: level
 * error) → meaning (known metric, thresholds that fit the metric and the kind).
 */
export function parseGateConfig(text: string, file: string): GateConfig {
  const doc = parseYamlWithPositions(text, file);
  const value = doc.value as unknown;
  const problems = new Problems();
  // Rules the schema refuses are reported as such; the others are still checked for meaning.
  const refused = new Set<number>();
  if (!validate(value)) {
    const errors = validate.errors ?? [];
    for (const e of schemaErrors(doc, errors)) problems.add(e);
    const ruleOf = (e: ErrorObject) => /^\/rules\/(\d+)/.exec(e.instancePath)?.[1];
    if (errors.some((e) => ruleOf(e) === undefined)) problems.throwIfAny();
    for (const e of errors) refused.add(Number(ruleOf(e)));
  }
  const config = value as GateConfig;
  const names = new Set<string>();
  config.rules.forEach((rule, i) => {
    if (refused.has(i)) return;
    try {
      checkRule(rule, (field, message, hint) => {
        const path = ['rules', i, ...field];
        const pos = doc.locate(path);
        return new HarnessError('gates.rule', message, { file, line: pos?.line, col: pos?.col, field: formatPath(path) }, hint);
      });
    } catch (e) {
      problems.absorb(e);
    }
    if (names.has(rule.name)) {
      const pos = doc.locate(['rules', i, 'name']);
      problems.add(new HarnessError('gates.rule', `duplicate rule name "${rule.name}"`, { file, line: pos?.line, col: pos?.col, field: `rules[${i}].name` }));
    }
    names.add(rule.name);
  });
  problems.throwIfAny();
  return config;
}

type MakeError = (field: (string | number)[], message: string, hint?: string) => HarnessError;

function checkRule(rule: GateRule, error: MakeError): void {
  const def = metricDef(rule.metric);
  if (!def) throw error(['metric'], `unknown metric "${rule.metric}"`, didYouMean(rule.metric, metricNames()) ?? `known: ${metricNames().join(', ')}`);
  if (def.equalityOnly && (rule.min !== undefined || rule.max !== undefined || !rule.equal)) {
    throw error(['metric'], `${rule.metric} can only be compared for equality`, 'use equal: true without min/max');
  }
  if (rule.equal && rule.kind === 'absolute') throw error(['equal'], 'equal: true needs a reference (kind vs-fp16 or vs-baseline)');
  if (rule.cells?.task !== undefined && def.scope !== 'task') throw error(['cells', 'task'], `${rule.metric} is not a per-task metric`);
  if (rule.min !== undefined && rule.max !== undefined && rule.min > rule.max) throw error(['min'], `min ${rule.min} is above max ${rule.max}`);
}

/** One problem per rule (or top-level place) the schema refuses. */
function schemaErrors(doc: PositionedDoc, errors: ErrorObject[]): HarnessError[] {
  const byPlace = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    // rules/3/cells/method → rules/3: one rule's problems are read together.
    const place = e.instancePath.split('/').slice(0, 3).join('/');
    byPlace.set(place, [...(byPlace.get(place) ?? []), e]);
  }
  return [...byPlace.values()].flatMap((group) => {
    const extra = group.filter((e) => e.keyword === 'additionalProperties');
    return extra.length ? extra.map((e) => schemaError(doc, [e])) : [schemaError(doc, group)];
  });
}

function schemaError(doc: PositionedDoc, errors: ErrorObject[]): HarnessError {
  // An unknown field explains the rest (a misspelt `min` also leaves the rule without a bound);
  // anyOf over min/max/equal is the schema's only alternative: say what it means.
  const extraField = errors.find((e) => e.keyword === 'additionalProperties');
  const anyOf = extraField ? undefined : errors.find((e) => e.keyword === 'anyOf');
  const e = extraField ?? anyOf ?? errors[0]!;
  const path = pointerToPath(e.instancePath);
  const pos = doc.locate(path);
  const where = { file: doc.file, line: pos?.line, col: pos?.col, field: formatPath(path) || undefined };
  if (anyOf) return new HarnessError('gates.schema', 'a rule needs a bound: min, max or equal: true', where);
  if (e.keyword === 'additionalProperties') {
    const extra = String((e.params as { additionalProperty: string }).additionalProperty);
    const allowed = allowedKeys(path);
    return new HarnessError('gates.schema', `unknown field "${extra}"`, where, didYouMean(extra, allowed) ?? (allowed.length ? `allowed: ${allowed.join(', ')}` : undefined));
  }
  const allowedValues = (e.params as { allowedValues?: unknown[] }).allowedValues;
  const expected = allowedValues ? `expected one of ${allowedValues.map((v) => JSON.stringify(v)).join(', ')}` : e.message ?? 'invalid';
  return new HarnessError('gates.schema', expected, where);
}

function allowedKeys(path: (string | number)[]): string[] {
  const rule = gatesSchema.properties.rules.items;
  if (path.length === 0) return Object.keys(gatesSchema.properties);
  if (path.length === 2) return Object.keys(rule.properties);
  if (path.length === 3 && path[2] === 'cells') return Object.keys(rule.properties.cells.properties);
  return [];
}
