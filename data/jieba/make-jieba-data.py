# Regenerates data/jieba/ from Python jieba 0.42.1 itself (Debian: apt-get install python3-jieba),
# for src/workloads/jieba (a port of jieba.cut(text, cut_all=False)). Run with Debian's python3
# from this folder:  /usr/bin/python3 make-jieba-data.py
#   dict.txt.gz    jieba's dictionary, byte for byte (gzip keeps the repository small)
#   model.json.gz  the HMM (finalseg's start, transition and emission log-probabilities) and
#               Python's math.log of every frequency in the dictionary and of their total:
#               JavaScript's Math.log differs from the C library's in the last bit for some
#               integers, which can flip jieba's choice between two equally likely routes.
import gzip, hashlib, json, math, os
import jieba
import jieba.finalseg as finalseg

assert jieba.__version__ == "0.42.1", jieba.__version__
src = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
raw = open(src, "rb").read()


def write_gz(name, data):
    with open(name, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as z:
        z.write(data)


write_gz("dict.txt.gz", raw)
freqs, total = set(), 0
for line in raw.decode("utf-8").splitlines():
    word, freq = line.strip().split(" ")[:2]
    freqs.add(int(freq))
    total += int(freq)
freqs.add(1)  # calc() takes log(FREQ.get(w) or 1)
model = {
    "source": "Python jieba %s: dict.txt and finalseg/prob_*.py" % jieba.__version__,
    "dictSha256": hashlib.sha256(raw).hexdigest(),
    "total": total,
    "logTotal": math.log(total),
    "logFreq": [[f, math.log(f)] for f in sorted(freqs)],
    "minFloat": finalseg.MIN_FLOAT,
    "start": finalseg.start_P,
    "trans": finalseg.trans_P,
    "emit": finalseg.emit_P,
}
write_gz("model.json.gz", json.dumps(model, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
print(len(raw), "bytes of dict,", len(freqs), "frequencies, total", total)
