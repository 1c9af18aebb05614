/**
 * Chinese word segmentation in the page (LongBench's zh metrics), the browser twin of
 * runners/node/jieba-segmenter.ts: jieba-wasm's web build, `cut(text, hmm = true)` as Python's
 * `jieba.cut(text, cut_all=False)`. Its 4 MB WASM (dictionary included) is fetched from the local
 * server once per page, only for workloads that score Chinese.
 */
// A namespace import: jieba-wasm ships its web build as .js without "type": "module", so
// TypeScript (NodeNext) sees CommonJS; esbuild bundles it as the ES module it is.
import * as jieba from 'jieba-wasm/web';
import type { Segmenter } from '../../../src/workloads/metrics/segmenter.js';

/** The web build's default export (its async initialiser), typed as the bundle sees it. */
const initJieba = (jieba as unknown as { default: (opts: { module_or_path: string }) => Promise<unknown> }).default;

let ready: Promise<Segmenter> | undefined;

export function loadJiebaSegmenter(wasmUrl: string): Promise<Segmenter> {
  return (ready ??= initJieba({ module_or_path: wasmUrl }).then(() => (text: string) => jieba.cut(text, true)));
}

/** Workloads whose metrics may need the segmenter. */
export function needsSegmenter(workload: string): boolean {
  return workload.startsWith('longbench');
}
