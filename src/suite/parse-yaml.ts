import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { HarnessError } from '../errors.js';

/** A parsed YAML file that can still say where each field came from. */
export interface PositionedDoc {
  file: string;
  value: unknown;
  locate(path: (string | number)[]): { line: number; col: number } | undefined;
}

export function parseYamlWithPositions(text: string, file: string): PositionedDoc {
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lineCounter.linePos(e.pos[0]);
    throw new HarnessError('suite.yaml', `malformed YAML: ${e.message.split('\n')[0]}`, { file, line: pos.line, col: pos.col });
  }
  return {
    file,
    value: doc.toJS(),
    locate(path) {
      // Walk as deep as the path exists; report the deepest node found (the parent of a missing field).
      let node: unknown = doc.contents;
      let found: unknown = node;
      for (const key of path) {
        if (isMap(node)) {
          // A field is reported at its key (where the user typed the name), not its value.
          const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
          if (!pair) break;
          found = pair.key;
          node = pair.value;
          continue;
        } else if (isSeq(node) && typeof key === 'number') node = node.get(key, true);
        else break;
        if (node === undefined) break;
        found = node;
      }
      const range = (found as Node | undefined)?.range;
      if (!range) return undefined;
      const pos = lineCounter.linePos(range[0]);
      return { line: pos.line, col: pos.col };
    },
  };
}

/** `methods[1].params.bits` from ['methods', 1, 'params', 'bits'] */
export function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** ajv's instancePath ("/methods/1/params") as a key list. */
export function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}
