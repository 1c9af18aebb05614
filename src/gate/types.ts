/** What a rule compares against. */
export type GateKind = 'vs-fp16' | 'vs-baseline' | 'absolute';
export type GateLevel = 'warn' | 'error';

/**
 * Which cells (and tasks) a rule applies to. Each field is one glob or a list of globs
 * (`*`, `?`, `{a,b}`); a glob starting with `!` excludes. An absent field matches everything,
 * including cells without a label.
 */
export interface CellPattern {
  model?: string | string[];
  method?: string | string[];
  workload?: string | string[];
  label?: string | string[];
  /** Only for task-level metrics (taskScore, taskDeltaVsFp16, …). */
  task?: string | string[];
}

export interface GateRule {
  name: string;
  metric: string;
  kind: GateKind;
  level: GateLevel;
  cells?: CellPattern;
  /**
   * Thresholds. For vs-fp16 / vs-baseline they bound the ratio ours / reference
   * (min 0.99 = "at least 99% of FP16"); for absolute they bound the value itself.
   */
  min?: number;
  max?: number;
  /** Relative kinds only: the value must equal the reference exactly (bytes, tokens). */
  equal?: boolean;
  description?: string;
}

export interface GateConfig {
  rules: GateRule[];
}

export type CheckOutcome = 'pass' | 'fail' | 'unusable';
/** A rule's outcome: its checks', or `skipped` when it does not apply to what was given (see evaluateGate). */
export type RuleOutcome = CheckOutcome | 'skipped';

/** One comparison of one cell (and task) under one rule. */
export interface GateCheck {
  outcome: CheckOutcome;
  cellId: string;
  /** Human name of the cell: method · workload · batch · label. */
  subject: string;
  task?: string;
  value?: number | string;
  reference?: number | string;
  /** ours / reference, for relative kinds with numbers. */
  ratio?: number;
  /** Why it failed or was unusable. */
  note?: string;
}

export interface RuleVerdict {
  rule: GateRule;
  outcome: RuleOutcome;
  checks: GateCheck[];
  /** One line for the table: the worst check, or why the rule could not be evaluated. */
  summary: string;
}

export interface GateReport {
  verdicts: RuleVerdict[];
  /** Problems with the inputs themselves (not tied to one rule). */
  inputErrors: string[];
  exitCode: 0 | 1 | 2;
}
