import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JsonTokenizer } from '../../src/model/tokenizer-json.js';

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

describe('JsonTokenizer (Llama-2 style tokenizer.json)', () => {
  const tok = new JsonTokenizer(fixtureText);
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

  it('gives invalid byte sequences one replacement char per byte, as the Rust tokenizers crate does', () => {
    expect(tok.decode([id('<0xF0>'), id('<0x9F>'), id('▁dog')])).toBe('\uFFFD\uFFFD dog');
  });

  it('accepts merges written as [left, right] pairs', () => {
    const j = fixture();
    j.model.merges = j.model.merges.map((m: string) => m.split(' '));
    const pairs = new JsonTokenizer(j);
    for (const s of SAMPLES) expect(pairs.encode(s)).toEqual(tok.encode(s));
  });

  it('supports the older Metaspace pre-tokenizer and decoder form', () => {
    const j = fixture();
    j.normalizer = null;
    j.pre_tokenizer = { type: 'Metaspace', replacement: '▁', add_prefix_space: true };
    j.decoder = { type: 'Sequence', decoders: [{ type: 'Metaspace', replacement: '▁', add_prefix_space: true }, { type: 'ByteFallback' }, { type: 'Fuse' }] };
    const old = new JsonTokenizer(j);
    // Text that starts with a space differs by design: Metaspace adds no ▁ when one is already there.
    for (const s of SAMPLES.filter((x) => !x.startsWith(' '))) {
      expect(old.encode(s)).toEqual(tok.encode(s));
      expect(old.decode(old.encode(s))).toBe(s);
    }
    expect(old.encode(' the').map((i) => old.idToTokenString(i))).toEqual(['▁the']);
    expect(tok.encode(' the').map((i) => tok.idToTokenString(i))).toEqual(['▁', '▁the']);
  });

  it('decodes without clean-up unless tokenizer_config.json asks for it', () => {
    const ids = tok.encode('the dog .');
    expect(tok.decode(ids)).toBe('the dog .');
    const cleaned = new JsonTokenizer(fixtureText, { config: { clean_up_tokenization_spaces: true } });
    expect(cleaned.decode(ids)).toBe('the dog.');
  });
});

/** GPT-2's byte → printable character map (bytes_to_unicode), for a hand-made byte-level tokenizer. */
function byteChars(): string[] {
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(keep(b) ? b : 256 + n++));
}

describe('JsonTokenizer (byte-level BPE, as Llama-3 and Qwen)', () => {
  const chars = byteChars();
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => (vocab[c] = i));
  const G = chars[0x20]!; // the space byte's character, Ġ
  for (const t of [`${G}t`, 'he', `${G}the`]) vocab[t] = Object.keys(vocab).length;
  const json = {
    version: '1.0',
    added_tokens: [
      { id: 259, content: '<|begin_of_text|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 260, content: '<|end_of_text|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [[G, 't'], ['h', 'e'], [`${G}t`, 'he']] },
  };
  const bl = new JsonTokenizer(json, { config: { bos_token: '<|begin_of_text|>', eos_token: '<|end_of_text|>' } });

  it('merges by rank inside each pre-tokenized word', () => {
    expect(bl.encode('the the')).toEqual([vocab.t, vocab.he, vocab[`${G}the`]]);
    expect(bl.vocabSize).toBe(261);
    expect([bl.bos, bl.eos]).toEqual([259, 260]);
    expect(bl.encode('the', { bos: true })).toEqual([259, vocab.t, vocab.he]);
  });

  it('encodes any text through its bytes and decodes it back exactly', () => {
    expect(bl.encode('é')).toEqual([0xc3, 0xa9].map((b) => vocab[chars[b]!]));
    for (const s of ['the thé 🙂', '  two  spaces\n\ttab', 'CJK 你好']) expect(bl.decode(bl.encode(s))).toBe(s);
    expect(bl.decode(bl.encode('<|begin_of_text|>the'), { skipSpecial: false })).toBe('<|begin_of_text|>the');
    expect(bl.decode(bl.encode('<|begin_of_text|>the'))).toBe('the');
  });
});

describe('chat templates (tokenizer_config.json chat_template, Jinja)', () => {
  // Llama-3-Instruct's template, as its tokenizer_config.json gives it.
  const llama3 =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

  it('renders the model template with the generation prompt and the special tokens', () => {
    const t = new JsonTokenizer(fixtureText, { config: { chat_template: llama3, bos_token: '<s>' } });
    expect(t.applyChatTemplate([{ role: 'user', content: ' Hi there ' }])).toBe('<s><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
  });

  it('takes the "default" of a list of named templates, and says when there is none', () => {
    const t = new JsonTokenizer(fixtureText, { config: { chat_template: [{ name: 'tool_use', template: 'x' }, { name: 'default', template: '[{{ messages[0].content }}]' }] } });
    expect(t.applyChatTemplate([{ role: 'user', content: 'q' }])).toBe('[q]');
    expect(() => new JsonTokenizer(fixtureText).applyChatTemplate([{ role: 'user', content: 'q' }])).toThrow(/no chat_template/);
    expect(() => new JsonTokenizer(fixtureText, { config: { chat_template: "{{ raise_exception('only user turns') }}" } }).applyChatTemplate([])).toThrow(/only user turns/);
  });
});
