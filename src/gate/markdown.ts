import { mdTable, mdText } from '../report/markdown.js';
import type { GateReport, GateRule, RuleVerdict } from './types.js';

const MAX_LISTED_CHECKS = 20;

function bound(rule: GateRule): string {
  const of = rule.kind === 'vs-fp16' ? '× FP16' : rule.kind === 'vs-baseline' ? '× baseline' : '';
  const parts: string[] = [];
  if (rule.equal) parts.push(rule.kind === 'vs-fp16' ? '= FP16' : '= baseline');
  if (rule.min !== undefined) parts.push(`≥ ${rule.min}${of ? ` ${of}` : ''}`);
  if (rule.max !== undefined) parts.push(`≤ ${rule.max}${of ? ` ${of}` : ''}`);
  return parts.join(', ');
}

function badge(v: RuleVerdict): string {
  if (v.outcome === 'pass') return '✅ pass';
  if (v.outcome === 'unusable') return '⛔ unusable';
  if (v.outcome === 'skipped') return '⏭️ skipped';
  return v.rule.level === 'error' ? '❌ fail' : '⚠️ warn';
}

/** The verdict of every rule as a Markdown table, then the failing checks rule by rule. */
export function gateMarkdown(report: GateReport): string {
  const skipped = report.verdicts.filter((v) => v.outcome === 'skipped').length;
  const status = `${report.exitCode === 0 ? 'passed' : report.exitCode === 1 ? 'FAILED (regression)' : 'UNUSABLE INPUT'}${skipped ? ` (${skipped} of ${report.verdicts.length} rules skipped)` : ''}`;
  const out = [`### Gate: ${status}`, ''];
  for (const e of report.inputErrors) out.push(`- ⛔ ${mdText(e)}`);
  if (report.inputErrors.length) out.push('');
  const rows = report.verdicts.map((v) => {
    const passed = v.checks.filter((c) => c.outcome === 'pass').length;
    return [badge(v), mdText(v.rule.name), v.rule.level, mdText(v.rule.metric), v.rule.kind, bound(v.rule), `${passed}/${v.checks.length}`, mdText(v.summary)];
  });
  if (rows.length) out.push(mdTable(['Result', 'Rule', 'Level', 'Metric', 'Kind', 'Bound', 'Passed', 'Detail'], rows), '');
  for (const v of report.verdicts) {
    const bad = v.checks.filter((c) => c.outcome !== 'pass');
    if (bad.length === 0) continue;
    out.push(`<details><summary>${mdText(v.rule.name)}: ${bad.length} check(s) not passing</summary>`, '');
    for (const c of bad.slice(0, MAX_LISTED_CHECKS)) {
      const where = mdText(`${c.subject}${c.task ? ` · ${c.task}` : ''}`);
      out.push(`- ${c.outcome}: ${where}: ${mdText(c.note ?? '')}`);
    }
    if (bad.length > MAX_LISTED_CHECKS) out.push(`- … and ${bad.length - MAX_LISTED_CHECKS} more`);
    out.push('', '</details>', '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
