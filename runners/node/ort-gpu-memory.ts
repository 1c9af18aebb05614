/**
 * Memory readings for the Node runner (src/runs/memory.ts MemoryProbe):
 *  - the process's resident set, sampled every `intervalMs` while work runs, so a probe returns the
 *    peak since the previous probe — this cell's peak, not the process's lifetime high-water mark
 *    (process.resourceUsage().maxRSS would carry an earlier, larger cell's peak into every later one);
 *  - on GPU EPs, device memory from nvidia-smi, sampled in the background every `intervalMs`
 *    while work runs, so a probe returns the peak since the previous probe. onnxruntime-node
 *    exposes no allocation counter for its WebGPU (Dawn) or CUDA device, so this is the driver's
 *    view: this process's used memory when nvidia-smi lists it as a compute app, otherwise the
 *    whole GPU's memory.used (labelled as such; on a dedicated GPU machine it is this process plus
 *    the driver's own reservation).
 */
import { execFile, execFileSync } from 'node:child_process';
import type { MemoryProbe, MemorySample } from '../../src/runs/memory.js';

interface GpuReading {
  bytes: number;
  source: string;
}

function parseMiB(s: string): number | undefined {
  const v = Number(s.trim());
  return Number.isFinite(v) ? v * 2 ** 20 : undefined;
}

/** One nvidia-smi reading (async), or undefined where nvidia-smi is missing or says nothing useful. */
function readNvidia(pid: number): Promise<GpuReading | undefined> {
  return new Promise((resolve) => {
    execFile(
      'nvidia-smi',
      ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'],
      { timeout: 5000 },
      (err, out) => {
        if (!err) {
          for (const line of out.split('\n')) {
            const [p, mem] = line.split(',');
            if (Number(p) === pid && mem) {
              const b = parseMiB(mem);
              if (b !== undefined) return resolve({ bytes: b, source: 'nvidia-smi used_memory of this process' });
            }
          }
        }
        execFile('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], { timeout: 5000 }, (err2, out2) => {
          if (err2) return resolve(undefined);
          const b = parseMiB(out2.split('\n')[0] ?? '');
          resolve(b === undefined ? undefined : { bytes: b, source: 'nvidia-smi memory.used of GPU 0 (whole device)' });
        });
      },
    );
  });
}

export function haveNvidiaSmi(): boolean {
  try {
    execFileSync('nvidia-smi', ['-L'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** A probe for this process; `gpu` turns on the background nvidia-smi sampler. Call stop() when done. */
export function nodeMemoryProbe(opts: { gpu: boolean; intervalMs?: number }): { probe: MemoryProbe; stop(): void } {
  let peak: GpuReading | undefined;
  let start: GpuReading | undefined;
  let timer: NodeJS.Timeout | undefined;
  let busy = false;
  let rssPeak = process.memoryUsage.rss();
  const rssTimer = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  }, opts.intervalMs ?? 250);
  rssTimer.unref();
  const sample = async () => {
    if (busy) return;
    busy = true;
    const r = await readNvidia(process.pid);
    busy = false;
    if (r && !start) start = r;
    if (r && (!peak || r.bytes > peak.bytes)) peak = r;
  };
  if (opts.gpu && haveNvidiaSmi()) {
    timer = setInterval(() => void sample(), opts.intervalMs ?? 250);
    timer.unref();
  }
  const probe: MemoryProbe = async () => {
    const s: MemorySample = { peakRssBytes: Math.max(rssPeak, process.memoryUsage.rss()) };
    rssPeak = process.memoryUsage.rss();
    if (timer) {
      await sample();
      if (peak) {
        s.deviceBytes = peak.bytes;
        s.deviceSource = peak.source;
      }
      if (start) s.deviceStartBytes = start.bytes;
      peak = undefined;
      start = undefined;
    }
    return s;
  };
  return {
    probe,
    stop: () => {
      clearInterval(rssTimer);
      if (timer) clearInterval(timer);
    },
  };
}
