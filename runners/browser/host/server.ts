/**
 * The local HTTP server the browser page is loaded from, on 127.0.0.1 and a random port.
 *  - Every response carries COOP/COEP (cross-origin isolation: threaded WASM via
 *    SharedArrayBuffer, 5 µs timers) and CORP; 127.0.0.1 is a secure context, as WebGPU needs.
 *  - /            the page: an import map points 'onnxruntime-web' at the build for ?ep=
 *  - /page.js     the esbuild bundle of the engine (bundle.ts)
 *  - /ort/NAME    onnxruntime-web's dist files (.mjs glue, .wasm), served locally
 *  - /jieba/NAME  data/jieba's dictionary and model (Chinese segmentation for LongBench's zh metrics)
 *  - /files/ID/NAME  files the host registered (weights, tokenizers, data), streamed from disk
 * Nothing else on the disk is reachable: files are served only by registration.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { basename, dirname, extname, join } from 'node:path';
import { JIEBA_DICT_FILE, JIEBA_MODEL_FILE } from '../../../src/workloads/jieba/model.js';
import { projectRoot } from '../../node/provenance.js';
import type { BrowserEp } from '../protocol.js';

/** onnxruntime-web's ES module per EP: the native WebGPU EP build, or WASM only. */
export const ORT_MODULE: Record<BrowserEp, string> = { webgpu: 'ort.webgpu.min.mjs', wasm: 'ort.wasm.min.mjs' };

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.jsonl': 'application/jsonl; charset=utf-8',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.gz': 'application/gzip',
};

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

export function ortDistDir(): string {
  const require = createRequire(import.meta.url);
  // The package's main entry lives in dist/, beside the .wasm files.
  return dirname(require.resolve('onnxruntime-web'));
}

/** The files of data/jieba the page's segmenter reads (src/workloads/jieba). */
const JIEBA_FILES: Record<string, string> = { 'dict.txt.gz': JIEBA_DICT_FILE, 'model.json.gz': JIEBA_MODEL_FILE };

export function pageHtml(ep: BrowserEp): string {
  const map = JSON.stringify({ imports: { 'onnxruntime-web': `/ort/${ORT_MODULE[ep]}` } });
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>minicache-bench (${ep})</title>
<script type="importmap">${map}</script>
<script type="module" src="/page.js"></script>
</head><body><p>minicache-bench browser runner: ${ep}. Driven by the host; results go to results.jsonl.</p></body></html>
`;
}

export interface PageServer {
  readonly origin: string;
  /** The URL of a page for an EP. */
  pageUrl(ep: BrowserEp): string;
  /** Makes a file reachable by the page; the same path always gets the same URL. */
  register(path: string): string;
  close(): Promise<void>;
}

export async function startPageServer(opts: { bundle: string; ortDir?: string }): Promise<PageServer> {
  const ortDir = opts.ortDir ?? ortDistDir();
  const byPath = new Map<string, string>();
  const byId = new Map<string, string>();

  const send = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') => {
    res.writeHead(status, { ...ISOLATION, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  const stream = (req: IncomingMessage, res: ServerResponse, path: string) => {
    if (!existsSync(path) || !statSync(path).isFile()) return send(res, 404, `not found: ${basename(path)}`);
    res.writeHead(200, { ...ISOLATION, 'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream', 'Content-Length': statSync(path).size });
    if (req.method === 'HEAD') return res.end();
    createReadStream(path).on('error', () => res.destroy()).pipe(res);
  };

  const route = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const p = decodeURIComponent(url.pathname);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
    if (p === '/') {
      const ep = url.searchParams.get('ep');
      if (ep !== 'wasm' && ep !== 'webgpu') return send(res, 400, 'ep must be wasm or webgpu');
      return send(res, 200, pageHtml(ep), TYPES['.html']);
    }
    if (p === '/page.js' || p === '/page.js.map') return stream(req, res, p === '/page.js' ? opts.bundle : `${opts.bundle}.map`);
    if (p === '/favicon.ico') return send(res, 204, '');
    let m = /^\/ort\/([\w.-]+)$/.exec(p);
    if (m) return stream(req, res, join(ortDir, m[1]!));
    m = /^\/jieba\/([\w.-]+)$/.exec(p);
    if (m && Object.hasOwn(JIEBA_FILES, m[1]!)) return stream(req, res, join(projectRoot, JIEBA_FILES[m[1]!]!));
    m = /^\/files\/(\d+)\/[^/]*$/.exec(p);
    if (m && byId.has(m[1]!)) return stream(req, res, byId.get(m[1]!)!);
    return send(res, 404, 'not found');
  };
  // A failing request must fail alone, never the run.
  const server = createServer((req, res) => {
    try {
      route(req, res);
    } catch (e) {
      if (!res.headersSent) send(res, 500, `server error: ${(e as Error).message}`);
      else res.destroy();
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    pageUrl: (ep) => `${origin}/?ep=${ep}`,
    register(path) {
      let id = byPath.get(path);
      if (!id) {
        id = String(byPath.size + 1);
        byPath.set(path, id);
        byId.set(id, path);
      }
      return `${origin}/files/${id}/${encodeURIComponent(basename(path))}`;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
