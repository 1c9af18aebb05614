import cliProgress from 'cli-progress';

/**
 * Progress for long runs: a bar with ETA on a terminal, plain lines (at most every 10 s or per
 * cell) in CI logs, nothing with --quiet.
 */
export class Progress {
  private bar?: cliProgress.SingleBar;
  private lastLine = 0;
  private cellLabel = '';
  constructor(private readonly mode: 'bar' | 'lines' | 'quiet', private readonly totalCells: number) {}

  static auto(quiet: boolean, totalCells: number): Progress {
    return new Progress(quiet ? 'quiet' : process.stderr.isTTY && !process.env.CI ? 'bar' : 'lines', totalCells);
  }

  cellStart(index: number, label: string): void {
    this.cellLabel = `[${index + 1}/${this.totalCells}] ${label}`;
    if (this.mode === 'bar') {
      this.bar?.stop();
      this.bar = new cliProgress.SingleBar(
        { format: `${this.cellLabel} {bar} {percentage}% | ETA {eta_formatted} | {note}`, stream: process.stderr, hideCursor: true, etaBuffer: 50 },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(1, 0, { note: '' });
    } else if (this.mode === 'lines') {
      process.stderr.write(`${this.cellLabel}: started\n`);
      this.lastLine = Date.now();
    }
  }

  update(done: number, total: number, note = ''): void {
    if (this.mode === 'bar') {
      this.bar?.setTotal(Math.max(1, total));
      this.bar?.update(done, { note });
    } else if (this.mode === 'lines' && Date.now() - this.lastLine > 10_000) {
      process.stderr.write(`${this.cellLabel}: ${Math.round((100 * done) / Math.max(1, total))}% ${note}\n`);
      this.lastLine = Date.now();
    }
  }

  cellEnd(status: string, summary: string): void {
    this.bar?.stop();
    this.bar = undefined;
    if (this.mode !== 'quiet') process.stderr.write(`${this.cellLabel}: ${status} ${summary}\n`);
  }

  stop(): void {
    this.bar?.stop();
  }
}
