import { dataError, type RecordSource } from '../data-error.js';

/** One line of the embedded model's held-out split (models/<model>/heldout/*.jsonl). */
export interface HeldoutDoc {
  source: string;
  licence: string;
  text: string;
}

export function parseHeldoutDoc(value: unknown, src: RecordSource): HeldoutDoc {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw dataError(src, '(record)', 'a JSON object {"source", "licence", "text"}', value);
  const o = value as Record<string, unknown>;
  for (const f of ['source', 'licence', 'text'] as const) if (typeof o[f] !== 'string') throw dataError(src, f, 'a string', o[f]);
  return { source: o.source as string, licence: o.licence as string, text: o.text as string };
}
