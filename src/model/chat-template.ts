/**
 * A model's chat template (tokenizer_config.json `chat_template`, Jinja) rendered with
 * @huggingface/jinja, the Jinja implementation transformers.js uses, with the variables
 * transformers' apply_chat_template passes: messages, add_generation_prompt and the special
 * tokens' strings (bos_token, eos_token, …); the library provides raise_exception.
 */
import { Template } from '@huggingface/jinja';
import type { ChatMessage } from '../engine/backend.js';

type Json = Record<string, unknown>;

const SPECIAL_KEYS = ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token'];

function content(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return undefined;
}

/** The template's source: a string, or (newer configs) a list of named templates of which "default" is used. */
export function chatTemplateSource(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw)) {
    const named = raw as { name?: unknown; template?: unknown }[];
    const hit = named.find((t) => t?.name === 'default') ?? (named.length === 1 ? named[0] : undefined);
    if (hit && typeof hit.template === 'string') return hit.template;
    throw new Error(`tokenizer_config.json chat_template: a list of templates needs one named "default" (found: ${named.map((t) => String(t?.name)).join(', ')})`);
  }
  throw new Error('tokenizer_config.json chat_template: must be a string or a list of {name, template}');
}

export class ChatTemplateRenderer {
  private readonly template: Template;
  private readonly specials: Record<string, string>;

  constructor(raw: unknown, config: Json) {
    const src = chatTemplateSource(raw);
    try {
      this.template = new Template(src);
    } catch (e) {
      throw new Error(`tokenizer_config.json chat_template: not a template this Jinja can parse (${(e as Error).message})`);
    }
    this.specials = {};
    for (const k of SPECIAL_KEYS) {
      const c = content(config[k]);
      if (c !== undefined) this.specials[k] = c;
    }
  }

  render(messages: readonly ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
    return this.template.render({
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: opts.addGenerationPrompt ?? true,
      ...this.specials,
    });
  }
}
