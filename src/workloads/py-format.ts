/**
 * Python `template.format(**fields)` for templates made of literal text, `{name}` fields and
 * `{{` / `}}` escapes (all LongBench templates). The template is parsed once, so braces inside
 * substituted values are never read as fields (a naive replace chain would expand "{input}"
 * appearing in a code context). Conversions (`!r`), format specs (`:>5`), attribute/index access
 * and positional fields are rejected rather than approximated.
 */
export function pyFormat(template: string, fields: Readonly<Record<string, unknown>>): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const ch = template[i]!;
    if (ch === '{') {
      if (template[i + 1] === '{') {
        out += '{';
        i += 2;
        continue;
      }
      const end = template.indexOf('}', i + 1);
      if (end < 0) throw new Error(`template: single '{' at offset ${i} (Python: "Single '{' encountered in format string")`);
      const name = template.slice(i + 1, end);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`template: unsupported field "{${name}}" at offset ${i}; only {name} fields are supported`);
      if (!(name in fields)) throw new Error(`template: no value for field "{${name}}" (Python: KeyError '${name}')`);
      out += pyStr(fields[name], name);
      i = end + 1;
    } else if (ch === '}') {
      if (template[i + 1] !== '}') throw new Error(`template: single '}' at offset ${i} (Python: "Single '}' encountered in format string")`);
      out += '}';
      i += 2;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/** Python str() of the values a record field can hold in a template. */
function pyStr(v: unknown, name: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  throw new Error(`template: field "{${name}}" holds ${Array.isArray(v) ? 'a list' : typeof v}; only strings, integers, booleans and null are formatted`);
}

/**
 * Python's repr() of a float (what json.dump writes): the shortest digits that round-trip, as
 * JavaScript's, but laid out as Python does: `40.0` for integers, exponent form below 1e-4 and
 * from 1e16 with at least two exponent digits (`1e-05`, `1e+16`), `NaN`, `Infinity`.
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, exp] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mant.replace('.', '');
  const decpt = Number(exp) + 1; // x = 0.d1d2… × 10^decpt
  const sign = x < 0 ? '-' : '';
  if (decpt <= -4 || decpt > 16) {
    const e = decpt - 1;
    return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}
