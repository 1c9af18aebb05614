/**
 * Chinese word segmentation, as `jieba.cut(text, cut_all=False)` (HMM on) does it. Injected
 * rather than imported because the segmenter is WASM that loads differently in Node (sync) and in
 * a browser (async init): runners/node/jieba-segmenter.ts gives the Node one (jieba-wasm, a
 * binding of jieba-rs, which ships jieba's dictionary and HMM).
 */
export type Segmenter = (text: string) => string[];
