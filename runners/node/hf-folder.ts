/**
 * File access for Hugging Face model folders: config.json, the safetensors files (one
 * model.safetensors, or the shards named by model.safetensors.index.json) and their headers. The
 * parsing and checks are in src/model (hf-config.ts, safetensors.ts); here files are opened and
 * byte ranges read, so the engine streams one tensor at a time from disk.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { HarnessError } from '../../src/errors.js';
import { checkHfTensors, parseHfConfig, type HfModelConfig } from '../../src/model/hf-config.js';
import { parseSafetensorsIndex, readSafetensorsHeader, type TensorEntry } from '../../src/model/safetensors.js';
import { parseYamlWithPositions } from '../../src/suite/parse-yaml.js';

export const HF_CONFIG = 'config.json';
export const HF_INDEX = 'model.safetensors.index.json';

/** A folder Hugging Face's save_pretrained wrote: it has config.json. */
export function isHfFolder(dir: string): boolean {
  return existsSync(dir) && statSync(dir).isDirectory() && existsSync(join(dir, HF_CONFIG));
}

/** config.json of a folder (or a config file), parsed and checked; errors name the file, line and field. */
export function readHfConfig(path: string): { config: HfModelConfig; file: string } {
  const file = statSync(path).isDirectory() ? join(path, HF_CONFIG) : path;
  if (!existsSync(file)) throw new HarnessError('hf-config', `no ${HF_CONFIG} in ${path}`, { file }, 'a Hugging Face model folder holds config.json, its safetensors and tokenizer.json');
  const text = readFileSync(file, 'utf8');
  let doc;
  try {
    doc = parseYamlWithPositions(text, file); // JSON is YAML: this gives lines for the errors
  } catch (e) {
    throw new HarnessError('hf-config', `not valid JSON: ${(e as Error).message}`, { file });
  }
  return { config: parseHfConfig(doc.value, file, doc.locate), file };
}

function readRange(fd: number, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, offset + done);
    if (n === 0) throw new Error(`unexpected end of file at byte ${offset + done}`);
    done += n;
  }
  return out;
}

export interface HfWeights {
  tensors: Map<string, TensorEntry>;
  /** Reads one tensor's bytes from its file. */
  read(t: TensorEntry): Promise<Uint8Array>;
  close(): Promise<void>;
  /** Bytes of all safetensors files. */
  bytes: number;
}

/** The safetensors files of a folder: the index's shards, else model.safetensors, else every *.safetensors. */
function weightFiles(dir: string): { files: string[]; index?: Map<string, string>; where: string } {
  const indexFile = join(dir, HF_INDEX);
  if (existsSync(indexFile)) {
    let index: Map<string, string>;
    try {
      index = parseSafetensorsIndex(readFileSync(indexFile, 'utf8'), indexFile);
    } catch (e) {
      throw new HarnessError('hf-weights', (e as Error).message, { file: indexFile });
    }
    const files = [...new Set(index.values())].sort();
    const absent = files.filter((f) => !existsSync(join(dir, f)));
    if (absent.length) throw new HarnessError('hf-weights', `${absent.length} shard${absent.length > 1 ? 's' : ''} named in weight_map missing: ${absent.join(', ')}`, { file: indexFile, field: 'weight_map' }, 'download every shard the index names');
    return { files: files.map((f) => join(dir, f)), index, where: indexFile };
  }
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) return { files: [single], where: single };
  const any = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  if (any.length) return { files: any.map((f) => join(dir, f)), where: dir };
  const bins = readdirSync(dir).filter((f) => f.endsWith('.bin') || f.endsWith('.pt') || f.endsWith('.pth'));
  throw new HarnessError(
    'hf-weights',
    `no safetensors weights in ${dir}`,
    { file: join(dir, 'model.safetensors') },
    bins.length ? `the folder has PyTorch pickles (${bins.slice(0, 2).join(', ')}); the engine reads safetensors only: convert them (transformers: save_pretrained(safe_serialization=True))` : 'a Hugging Face folder holds model.safetensors, or shards listed in model.safetensors.index.json',
  );
}

/** Opens a folder's safetensors and reads their headers (not the weights); checks them against the config. */
export async function openHfWeights(dir: string, config: HfModelConfig, configFile: string): Promise<HfWeights> {
  const { files, index, where } = weightFiles(dir);
  const fds = new Map<string, number>();
  const tensors = new Map<string, TensorEntry>();
  let bytes = 0;
  try {
    for (const file of files) {
      const fd = openSync(file, 'r');
      fds.set(file, fd);
      const size = statSync(file).size;
      bytes += size;
      let entries: TensorEntry[];
      try {
        entries = await readSafetensorsHeader(file, size, async (o, n) => readRange(fd, o, n));
      } catch (e) {
        throw new HarnessError('hf-weights', (e as Error).message.replace(`${file}: `, ''), { file });
      }
      for (const t of entries) {
        const before = tensors.get(t.name);
        if (before) throw new HarnessError('hf-weights', `tensor ${t.name} is in two files (${basename(before.file)} and ${basename(file)})`, { file });
        if (index && index.get(t.name) !== undefined && index.get(t.name) !== basename(file)) {
          throw new HarnessError('hf-weights', `tensor ${t.name} is in ${basename(file)} but the index says ${index.get(t.name)}`, { file: where, field: `weight_map.${t.name}` });
        }
        tensors.set(t.name, t);
      }
    }
    if (index) {
      const lost = [...index.keys()].filter((k) => !tensors.has(k));
      if (lost.length) throw new HarnessError('hf-weights', `${lost.length} tensor${lost.length > 1 ? 's' : ''} of weight_map not found in the shard named: ${lost.slice(0, 3).join(', ')}`, { file: where, field: 'weight_map' });
    }
    checkHfTensors(config, tensors, where, configFile);
  } catch (e) {
    for (const fd of fds.values()) closeSync(fd);
    throw e;
  }
  return {
    tensors,
    bytes,
    read: async (t) => readRange(fds.get(t.file)!, t.begin, t.end - t.begin),
    close: async () => {
      for (const fd of fds.values()) closeSync(fd);
      fds.clear();
    },
  };
}

/** A folder's resolved path and its display name (the folder's name). */
export function hfFolderName(dir: string): string {
  return basename(resolve(dir));
}
