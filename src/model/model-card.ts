/**
 * Model cards: a small YAML or JSON file describing a user's model, e.g.
 *
 *   name: my-llama
 *   format: onnx                 # or llama2c
 *   path: model.onnx             # (llama2c: weights: model.bin)
 *   tokenizer: tokenizer.json
 *   tokenizerFormat: hf          # or llama2c
 *   layers: 12
 *   kvHeads: 4
 *   headDim: 64
 *   vocabSize: 32000
 *   maxContext: 2048
 *   bos: 1
 *   eos: [2]
 *
 * A Hugging Face folder (`format: hf`) needs no geometry: it comes from the folder's config.json
 * (`path`, default the card's own folder); `weights: dummy` runs seeded values in those shapes
 * (`seed`, default 0), and `tokenizer` defaults to the folder's tokenizer.json (none: dummy only).
 *
 * For llama2c checkpoints the geometry comes from the file's header, so those fields are
 * optional (checked against the header when given) and BOS/EOS default to llama2.c's 1 and 2.
 * Errors name the file, line and field. Paths stay as written; the loader resolves them
 * against the card's folder.
 */
import { didYouMean, HarnessError, Problems } from '../errors.js';
import { formatPath, parseYamlWithPositions, type PositionedDoc } from '../suite/parse-yaml.js';
import { IO_NAME_KEYS, type DecoderIoNames } from './io-names.js';

export type ModelFormat = 'onnx' | 'llama2c' | 'hf';
/** 'bytes': no tokenizer file (a dummy-weight model): text is encoded byte by byte (ids 3 + byte). */
export type TokenizerFormat = 'hf' | 'llama2c' | 'bytes';

export interface ModelCard {
  name: string;
  format: ModelFormat;
  /** The model file: ONNX graph or llama2.c checkpoint (card fields `path` or `weights`); for `hf`, the folder holding config.json. */
  path: string;
  /** hf only: 'dummy' runs seeded values in the config's shapes instead of the folder's safetensors. */
  weights?: 'dummy';
  /** Seed of dummy weights (default 0). */
  seed?: number;
  /** hf: bos/eos were not given in the card, so config.json's bos_token_id / eos_token_id apply. */
  idsFromConfig?: boolean;
  /** llama2.c element type; 'auto' (default) tells by the file size. */
  dtype?: 'float32' | 'float16' | 'auto';
  tokenizer: string;
  tokenizerFormat: TokenizerFormat;
  layers?: number;
  /** llama2c: model width and FFN width, checked against the checkpoint header. */
  dim?: number;
  hiddenDim?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  vocabSize?: number;
  maxContext?: number;
  bos: number;
  eos: number[];
  /** ONNX only: I/O names that differ from Hugging Face's ({i} = layer index). */
  inputNames?: Partial<DecoderIoNames>;
  /** llama2c only. */
  ropeTheta?: number;
  rmsEps?: number;
  description?: string;
  license?: string;
  /** The file the card came from (for messages). */
  file: string;
}

const INTS = ['layers', 'heads', 'kvHeads', 'headDim', 'vocabSize', 'maxContext', 'dim', 'hiddenDim'] as const;
const FIELDS = [
  'name',
  'format',
  'path',
  'weights',
  'dtype',
  'tokenizer',
  'tokenizerFormat',
  ...INTS,
  'bos',
  'eos',
  'inputNames',
  'ropeTheta',
  'rmsEps',
  'seed',
  'description',
  'license',
];
const ONNX_REQUIRED = ['layers', 'kvHeads', 'headDim', 'vocabSize', 'maxContext', 'bos', 'eos'] as const;

type Locate = PositionedDoc['locate'];

/** Parses a card from YAML or JSON text. */
export function parseModelCard(text: string, file: string): ModelCard {
  let doc: PositionedDoc;
  try {
    doc = parseYamlWithPositions(text, file);
  } catch (e) {
    if (e instanceof HarnessError) throw new HarnessError('model-card', e.message, e.location, e.hint);
    throw e;
  }
  return validateModelCard(doc.value, file, doc.locate);
}

/**
 * Checks a card object (parsed from a file, or built in code) and fills defaults. Every problem
 * is reported at once (HarnessErrors), each at its field.
 */
export function validateModelCard(value: unknown, file: string, locate: Locate = () => undefined): ModelCard {
  const problems = new Problems();
  // Records a problem and goes on; the value it returns is never used, since the card is refused.
  const err = (path: (string | number)[], message: string, hint?: string): undefined => {
    const pos = locate(path);
    problems.add(new HarnessError('model-card', message, { file, line: pos?.line, col: pos?.col, field: path.length ? formatPath(path) : undefined }, hint));
    return undefined;
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    err([], 'a model card must be a mapping of fields');
    problems.throwIfAny();
  }
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.includes(k)) err([k], `unknown field "${k}"`, didYouMean(k, FIELDS) ?? `allowed: ${FIELDS.join(', ')}`);

  const str = (k: string, required: boolean): string | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return required ? err([k], `missing required field "${k}"`) : undefined;
    if (typeof v !== 'string' || v.length === 0) return err([k], `"${k}" must be a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  };
  const oneOf = <T extends string>(k: string, allowed: readonly T[], required: boolean): T | undefined => {
    const v = str(k, required);
    if (v !== undefined && !allowed.includes(v as T)) return err([k], `"${k}" must be one of ${allowed.join(', ')}, got "${v}"`, didYouMean(v, allowed));
    return v as T | undefined;
  };
  const int = (path: (string | number)[], v: unknown, min: number): number | undefined => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) return err(path, `"${formatPath(path)}" must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  const num = (k: string): number | undefined => {
    const v = o[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !(v > 0)) return err([k], `"${k}" must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  };

  const format = oneOf('format', ['onnx', 'llama2c', 'hf'] as const, true);
  const hf = format === 'hf';
  let path: string | undefined;
  let dummy = false;
  if (hf) {
    // A Hugging Face folder: `path` is the folder (default: the card's own), `weights: dummy` the only weights value.
    path = str('path', false) ?? '.';
    if (o.weights !== undefined) {
      if (o.weights === 'dummy') dummy = true;
      else err(['weights'], `"weights" of an hf card can only be "dummy" (seeded values in config.json's shapes), got ${JSON.stringify(o.weights)}`, 'leave it out to read the folder\'s safetensors');
    }
  } else {
    if (o.path !== undefined && o.weights !== undefined) err(['weights'], 'give the model file as "path" or "weights", not both');
    const pathKey = o.weights !== undefined ? 'weights' : 'path';
    path = str(pathKey, false) ?? (o[pathKey] === undefined ? err([], `missing required field "${format === 'llama2c' ? 'weights' : 'path'}" (the model file)`) : undefined);
  }
  if (o.seed !== undefined && !dummy) err(['seed'], '"seed" applies to dummy weights only (weights: dummy)');
  const seed = o.seed === undefined ? undefined : int(['seed'], o.seed, 0);
  // hf: the folder's tokenizer.json by default (the loader looks); none at all is allowed for dummy weights
  const tokenizer = hf ? str('tokenizer', false) ?? '' : str('tokenizer', true);
  const tokenizerFormat =
    oneOf('tokenizerFormat', ['hf', 'llama2c', 'bytes'] as const, false) ??
    (o.tokenizerFormat !== undefined || tokenizer === undefined ? undefined : hf ? 'hf' : tokenizer.endsWith('.json') ? 'hf' : format === 'llama2c' ? 'llama2c' : err(['tokenizerFormat'], 'missing "tokenizerFormat" (hf or llama2c)'));

  if (format === 'onnx') for (const k of ONNX_REQUIRED) if (o[k] === undefined) err([k], `missing required field "${k}" (needed for ONNX models)`);
  const dims: Partial<Record<(typeof INTS)[number], number>> = {};
  for (const k of INTS) if (o[k] !== undefined) dims[k] = int([k], o[k], 1);
  if (dims.heads !== undefined && dims.kvHeads !== undefined && dims.heads % dims.kvHeads !== 0) err(['heads'], `heads (${dims.heads}) must be a multiple of kvHeads (${dims.kvHeads})`);

  const bos = o.bos === undefined ? 1 : int(['bos'], o.bos, 0);
  const eosRaw = o.eos === undefined ? [2] : Array.isArray(o.eos) ? o.eos : [o.eos];
  if (eosRaw.length === 0) err(['eos'], '"eos" needs at least one token id');
  const eos = eosRaw.map((v, i) => int(Array.isArray(o.eos) ? ['eos', i] : ['eos'], v, 0));
  const ids: [(string | number)[], number | undefined][] = [[['bos'], bos], ...eos.map((e, i): [(string | number)[], number | undefined] => [Array.isArray(o.eos) ? ['eos', i] : ['eos'], e])];
  for (const [path, id] of ids) {
    if (id !== undefined && dims.vocabSize !== undefined && id >= dims.vocabSize) err(path, `token id ${id} is outside the vocabulary of ${dims.vocabSize}`);
  }

  const dtype = oneOf('dtype', ['float32', 'float16', 'auto'] as const, false);
  if (dtype !== undefined && format !== 'llama2c') err(['dtype'], '"dtype" applies to llama2c checkpoints only (an ONNX graph declares its own types)');
  for (const k of ['ropeTheta', 'rmsEps']) if (o[k] !== undefined && format !== 'llama2c') err([k], `"${k}" applies to llama2c checkpoints only${hf ? ' (an hf folder takes them from config.json)' : ''}`);

  let inputNames: Partial<DecoderIoNames> | undefined;
  if (o.inputNames !== undefined) {
    if (format !== 'onnx') err(['inputNames'], '"inputNames" applies to ONNX models only');
    const mapping = typeof o.inputNames === 'object' && o.inputNames !== null && !Array.isArray(o.inputNames);
    if (!mapping) err(['inputNames'], '"inputNames" must be a mapping');
    inputNames = {};
    for (const [k, v] of mapping ? Object.entries(o.inputNames as Record<string, unknown>) : []) {
      if (!IO_NAME_KEYS.includes(k as keyof DecoderIoNames)) err(['inputNames', k], `unknown I/O name "${k}"`, didYouMean(k, IO_NAME_KEYS) ?? `allowed: ${IO_NAME_KEYS.join(', ')}`);
      if (typeof v !== 'string' || !v) err(['inputNames', k], `"inputNames.${k}" must be a non-empty string`);
      else if (/^(past|present)/.test(k) && !v.includes('{i}')) err(['inputNames', k], `"inputNames.${k}" must contain {i} for the layer index, got "${v}"`);
      inputNames[k as keyof DecoderIoNames] = v as string;
    }
  }
  const name = str('name', false);
  const description = str('description', false);
  const license = str('license', false);
  const ropeTheta = num('ropeTheta');
  const rmsEps = num('rmsEps');
  problems.throwIfAny();
  if (format === undefined || path === undefined || tokenizer === undefined || tokenizerFormat === undefined || bos === undefined) throw new Error('unreachable: a missing field is reported above');

  const baseName = path.replace(/\\/g, '/').split('/').pop()!.replace(/\.[^.]+$/, '');
  return {
    // an hf card without a name takes its folder's (the loader knows it)
    name: name ?? (hf ? '' : baseName),
    format,
    path,
    ...(dummy ? { weights: 'dummy' as const, seed: seed ?? 0 } : {}),
    ...(hf && o.bos === undefined && o.eos === undefined ? { idsFromConfig: true } : {}),
    ...(dtype !== undefined ? { dtype } : {}),
    tokenizer,
    tokenizerFormat,
    ...dims,
    bos,
    eos: eos as number[],
    ...(inputNames ? { inputNames } : {}),
    ...(ropeTheta !== undefined ? { ropeTheta } : {}),
    ...(rmsEps !== undefined ? { rmsEps } : {}),
    ...(description !== undefined ? { description } : {}),
    ...(license !== undefined ? { license } : {}),
    file,
  };
}
