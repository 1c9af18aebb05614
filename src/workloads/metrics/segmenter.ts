/**
 * Chinese word segmentation, as Python jieba's `jieba.cut(text, cut_all=False)` (HMM on) does it.
 * Injected rather than imported because its 5 MB dictionary is read from a file in Node and
 * fetched in a browser: runners/node/jieba-segmenter.ts and runners/browser/page/jieba-segmenter.ts
 * give the port in src/workloads/jieba over data/jieba.
 */
export type Segmenter = (text: string) => string[];
