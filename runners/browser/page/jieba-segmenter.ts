/**
 * Chinese word segmentation in the page (LongBench's zh metrics), the browser twin of
 * runners/node/jieba-segmenter.ts: the same port of Python jieba's `jieba.cut(text,
 * cut_all=False)` over data/jieba, whose two gzipped files (2 MB dictionary, 0.3 MB model) are
 * fetched from the local server once per page, only for workloads that score Chinese.
 */
import { jiebaFromData } from '../../../src/workloads/jieba/model.js';
import type { Segmenter } from '../../../src/workloads/metrics/segmenter.js';
import { fetchBytes } from './fetch-bytes.js';

let ready: Promise<Segmenter> | undefined;

async function fetchGzipText(url: string): Promise<string> {
  const bytes = await fetchBytes(url);
  return new Response(new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'))).text();
}

/** `baseUrl` serves dict.txt.gz and model.json.gz (the host's /jieba/). */
export function loadJiebaSegmenter(baseUrl: string): Promise<Segmenter> {
  return (ready ??= Promise.all([fetchGzipText(`${baseUrl}dict.txt.gz`), fetchGzipText(`${baseUrl}model.json.gz`)]).then(([dict, model]) => {
    const jieba = jiebaFromData(dict, model);
    return (text: string) => jieba.cut(text);
  }).catch((e: unknown) => {
    ready = undefined; // let the next cell try again
    throw e;
  }));
}

/** Workloads whose metrics may need the segmenter. */
export function needsSegmenter(workload: string): boolean {
  return workload.startsWith('longbench');
}
