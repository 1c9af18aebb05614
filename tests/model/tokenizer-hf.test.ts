import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tokenizer as ReferenceTokenizer } from '@huggingface/tokenizers';
import { HfTokenizer } from '../../src/model/tokenizer-hf.js';

// Llama-2-shaped tokenizer.json made by fixtures/make-tiny-llama-tokenizer.py (60 learnt merges).
const fixtureText = readFileSync(new URL('./fixtures/tiny-llama-tokenizer.json', import.meta.url), 'utf8');
const fixture = () => JSON.parse(fixtureText) as Record<string, any>;

const SAMPLES = [
  'Once upon a time, there was a little girl named Lily.',
  'She played with the ball all day.',
  'The lazy dog',
  '  leading and trailing spaces  ',
  'line one\nline two\n\ttabbed',
  'emoji 🙂 and CJK 你好, accents é ü',
  'Zebra XYZ qqq',
  '',
];

describe('HfTokenizer (Llama-2 style tokenizer.json)', () => {
  const tok = new HfTokenizer(fixtureText);
  const id = (t: string) => tok.tokenToId(t)!;

  it('reads the vocabulary, specials and merges', () => {
    expect(tok.vocabSize).toBe(358);
    expect([tok.bos, tok.eos]).toEqual([1, 2]);
    expect(id('▁the')).toBeGreaterThan(258);
  });

  it('applies merges by rank with the Prepend/Replace normalizer', () => {
    expect(tok.encode('the ball')).toEqual([id('▁the'), id('▁ball')]);
    expect(tok.encode('the ball', { bos: true, eos: true })).toEqual([1, id('▁the'), id('▁ball'), 2]);
    // "play" is a merged token; "played" continues with "ed" (also merged).
    expect(tok.encode('played').map((i) => tok.idToTokenString(i))).toEqual(['▁play', 'ed']);
  });

  it('falls back to bytes for unseen characters and decodes them back', () => {
    const ids = tok.encode('🙂');
    expect(ids.map((i) => tok.idToTokenString(i))).toEqual(['▁', '<0xF0>', '<0x9F>', '<0x99>', '<0x82>']);
    const cjk = tok.encode('你');
    expect(cjk.slice(1).map((i) => tok.idToTokenString(i))).toEqual(['<0xE4>', '<0xBD>', '<0xA0>']);
    expect(tok.decode(ids)).toBe('🙂');
  });

  it('round-trips text with newlines, tabs, emoji and CJK', () => {
    for (const s of SAMPLES) expect(tok.decode(tok.encode(s))).toBe(s);
    expect(tok.decode(tok.encode('a\nb\tc', { bos: true }))).toBe('a\nb\tc');
  });

  it('matches added tokens before BPE, and skips special ones on request', () => {
    const ids = tok.encode('<s>the dog</s>');
    expect(ids).toEqual([1, id('▁the'), id('▁dog'), 2]);
    expect(tok.decode(ids)).toBe('the dog');
    expect(tok.decode(ids, { skipSpecial: false })).toBe('<s> the dog</s>');
  });

  it('gives invalid byte sequences one replacement char per byte', () => {
    expect(tok.decode([id('<0xF0>'), id('<0x9F>'), id('▁dog')])).toBe('\uFFFD\uFFFD dog');
  });

  it('accepts merges written as [left, right] pairs', () => {
    const j = fixture();
    j.model.merges = j.model.merges.map((m: string) => m.split(' '));
    const pairs = new HfTokenizer(j);
    for (const s of SAMPLES) expect(pairs.encode(s)).toEqual(tok.encode(s));
  });

  it('supports the older Metaspace pre-tokenizer and decoder form', () => {
    const j = fixture();
    j.normalizer = null;
    j.pre_tokenizer = { type: 'Metaspace', replacement: '▁', add_prefix_space: true };
    j.decoder = { type: 'Sequence', decoders: [{ type: 'Metaspace', replacement: '▁', add_prefix_space: true }, { type: 'ByteFallback' }, { type: 'Fuse' }] };
    const old = new HfTokenizer(j);
    // Text that starts with a space differs by design: Metaspace adds no ▁ when one is already there.
    for (const s of SAMPLES.filter((x) => !x.startsWith(' '))) {
      expect(old.encode(s)).toEqual(tok.encode(s));
      expect(old.decode(old.encode(s))).toBe(s);
    }
    expect(old.encode(' the').map((i) => old.idToTokenString(i))).toEqual(['▁the']);
    expect(tok.encode(' the').map((i) => tok.idToTokenString(i))).toEqual(['▁', '▁the']);
  });

  it('rejects byte-level BPE with a clear message', () => {
    const j = fixture();
    j.pre_tokenizer = { type: 'ByteLevel', add_prefix_space: false };
    expect(() => new HfTokenizer(j)).toThrow(/byte-level BPE/);
  });

  it('agrees with the @huggingface/tokenizers reference implementation', () => {
    const ref = new ReferenceTokenizer(fixture(), { clean_up_tokenization_spaces: false });
    for (const s of [...SAMPLES, 'the ball<s>the dog', 'dog</s> was']) {
      expect(tok.encode(s), s).toEqual(ref.encode(s, { add_special_tokens: false }).ids);
      const ids = tok.encode(s);
      if (ids.length) expect(tok.decode(ids), s).toBe(ref.decode(ids, { skip_special_tokens: true }));
    }
  });
});
