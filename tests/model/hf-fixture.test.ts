/**
 * The project against what transformers and tokenizers produced on the GPU machine
 * (tests/fixtures/hf-tiny, made by ci/fidelity-device.sh): tokenizer ids and decoding of a
 * byte-level BPE trained by `tokenizers`, the chat template as transformers renders it, and
 * transformers' RoPE frequencies for Llama-3 scaling. Skipped, with the command that makes the
 * fixture, until tests/fixtures/device-fixtures.json lists it as committed.
 */
import { readFileSync } from 'node:fs';
import { describe, expect } from 'vitest';
import { parseHfConfig } from '../../src/model/hf-config.js';
import { JsonTokenizer } from '../../src/model/tokenizer-json.js';
import { deviceFixture, ROOT } from '../support/device-fixtures.js';
import { itWhen } from '../support/parts.js';

const fx = deviceFixture('hf-tiny');
const DIR = `${ROOT}tests/fixtures/hf-tiny/`;
const read = (f: string) => JSON.parse(readFileSync(`${DIR}${f}`, 'utf8'));

/** x rounded to bfloat16 (round to nearest even on float32's upper 16 bits), as torch casts. */
function bf16(x: number): number {
  const v = new DataView(new ArrayBuffer(4));
  v.setFloat32(0, x);
  const u = v.getUint32(0);
  v.setUint32(0, ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16);
  return v.getFloat32(0);
}

describe('the transformers fixture (tests/fixtures/hf-tiny)', () => {
  itWhen(fx.ready, fx.reason, 'tokenizer.json through @huggingface/tokenizers gives the Rust library ids and decodes as it does', () => {
    const f = read('fixture.json');
    const tok = new JsonTokenizer(readFileSync(`${DIR}tokenizer.json`, 'utf8'), { config: read('tokenizer_config.json') });
    expect([tok.bos, tok.eos]).toEqual([f.bos, f.eos]);
    for (const c of f.tokenizer.cases as { text: string; ids: number[]; decoded: string; decodedWithSpecial: string }[]) {
      expect(tok.encode(c.text), c.text).toEqual(c.ids);
      expect(tok.decode(c.ids), c.text).toBe(c.decoded);
      expect(tok.decode(c.ids, { skipSpecial: false }), c.text).toBe(c.decodedWithSpecial);
    }
  });

  itWhen(fx.ready, fx.reason, "tokenizer_config.json's chat template renders as transformers' apply_chat_template", () => {
    const f = read('fixture.json');
    const tok = new JsonTokenizer(readFileSync(`${DIR}tokenizer.json`, 'utf8'), { config: read('tokenizer_config.json') });
    expect(tok.applyChatTemplate(f.chatTemplate.messages)).toBe(f.chatTemplate.rendered);
  });

  itWhen(fx.ready, fx.reason, "config.json's Llama-3 rope scaling gives transformers' inv_freq", () => {
    const f = read('fixture.json');
    const c = parseHfConfig(read('config.json'), 'config.json');
    expect(c.ropeType).toBe('llama3');
    expect(c.headDim).toBe(f.rope.headDim);
    expect(f.rope.attentionScaling).toBe(1);
    // The committed fixture (session 22) recorded inv_freq after the script's bf16 cast of the
    // model (no invFreqDtype): ours rounded to bf16 must then be those values exactly. A fixture
    // made since records float32: equal within the last bit (a libm pow may round it the other way).
    if ((f.rope.invFreqDtype ?? 'bfloat16') === 'bfloat16') {
      c.invFreq.forEach((x, i) => expect(bf16(x), `inv_freq[${i}] as bf16`).toBe(f.rope.invFreq[i]));
    } else {
      c.invFreq.forEach((x, i) => expect(Math.abs(x - f.rope.invFreq[i]) / f.rope.invFreq[i], `inv_freq[${i}]`).toBeLessThanOrEqual(2 ** -23));
    }
  });
});
