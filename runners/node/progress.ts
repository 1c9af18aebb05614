import cliProgress from 'cli-progress';

/** A progress message from a cell's own process (run --isolate) to the run that started it. */
export interface ProgressMessage {
  kind: 'progress';
  done: number;
  total: number;
  note?: string;
}

/** 45s, 3m05s, 1h02m */
export function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * Time left, from the run's elapsed time and the fraction done (items count alike, the item in
 * flight by its own fraction); undefined until there is enough to go on.
 */
export function etaMs(elapsedMs: number, fraction: number): number | undefined {
  if (!(fraction > 0.01) || elapsedMs < 2000) return undefined;
  return (elapsedMs * (1 - fraction)) / fraction;
}

/**
 * Progress of a whole run, over every item it plans (cells, and the rounds of cells whose repeats
 * are interleaved; a cell in its own process counts like any other): one bar with elapsed time and
 * ETA on a terminal, plain lines (at most every 10 s, and per item) in CI logs, nothing with
 * --quiet. A cell's own process (--isolate) sends its progress to the run instead ('ipc').
 */
export class Progress {
  private bar?: cliProgress.SingleBar;
  private lastLine = 0;
  private label = '';
  private index = 0;
  private fraction = 0;
  private note = '';
  private readonly started = Date.now();

  constructor(
    private readonly mode: 'bar' | 'lines' | 'quiet' | 'ipc',
    private readonly totalItems: number,
    private readonly send: (m: ProgressMessage) => void = () => {},
  ) {}

  static auto(quiet: boolean, totalItems: number): Progress {
    // A cell's own process started by `run --isolate` reports to its parent over the IPC channel.
    if (process.send && process.env.MINICACHE_PROGRESS_IPC === '1') return new Progress('ipc', totalItems, (m) => process.send!(m));
    return new Progress(quiet ? 'quiet' : process.stderr.isTTY && !process.env.CI ? 'bar' : 'lines', totalItems);
  }

  /** Elapsed time and ETA of the whole run, e.g. "elapsed 1m05s, ETA ~2m40s". */
  timing(): string {
    const elapsed = Date.now() - this.started;
    const eta = etaMs(elapsed, (this.index + this.fraction) / Math.max(1, this.totalItems));
    return `elapsed ${fmtDuration(elapsed)}${eta === undefined ? '' : `, ETA ~${fmtDuration(eta)}`}`;
  }

  itemStart(index: number, label: string): void {
    this.index = index;
    this.fraction = 0;
    this.note = '';
    this.label = `[${index + 1}/${this.totalItems}] ${label}`;
    if (this.mode === 'bar') this.draw();
    else if (this.mode === 'lines') {
      process.stderr.write(`${this.label}: started (${this.timing()})\n`);
      this.lastLine = Date.now();
    }
  }

  update(done: number, total: number, note = ''): void {
    this.fraction = Math.min(1, Math.max(0, done / Math.max(1, total)));
    this.note = note;
    if (this.mode === 'ipc') this.send({ kind: 'progress', done, total, ...(note ? { note } : {}) });
    else if (this.mode === 'bar') this.draw();
    else if (this.mode === 'lines' && Date.now() - this.lastLine > 10_000) {
      process.stderr.write(`${this.label}: ${Math.round(100 * this.fraction)}% ${note} (${this.timing()})\n`.replace('  (', ' ('));
      this.lastLine = Date.now();
    }
  }

  itemEnd(status: string, summary: string): void {
    this.fraction = 1;
    this.line(`${this.label}: ${status} ${summary}`);
  }

  /** A line above the bar (the bar is drawn again below it). */
  line(text: string): void {
    if (this.mode === 'quiet' || this.mode === 'ipc') return;
    if (this.bar) {
      this.bar.stop();
      this.bar = undefined;
      process.stderr.write(`${text}\n`);
      this.draw();
    } else process.stderr.write(`${text}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  private draw(): void {
    const total = 1000 * Math.max(1, this.totalItems);
    const value = Math.round(1000 * (this.index + this.fraction));
    const payload = { label: this.label, timing: this.timing(), note: this.note };
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        { format: '{label} {bar} {percentage}% | {timing} | {note}', stream: process.stderr, hideCursor: true, clearOnComplete: true, stopOnComplete: false },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, value, payload);
    } else this.bar.update(value, payload);
  }
}
