#!/usr/bin/env bash
# Bring a training run's files (what train.py wrote to $OUT on the GPU machine) into the model folder.
#   bash models/recipe/collect.sh /work/.device/1        (the run's files_at folder)
set -euo pipefail
src=${1:?usage: collect.sh RUN_FOLDER}
here=$(cd "$(dirname "$0")" && pwd)
dst="$here/../minillama-12l"
mkdir -p "$dst/training"
cat "$src"/model.bin.part0 "$src"/model.bin.part1 > "$dst/model.bin"
want=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['model_bin']['sha256'])" "$src/metrics.json")
got=$(sha256sum "$dst/model.bin" | cut -d' ' -f1)
[ "$want" = "$got" ] || { echo "model.bin sha256 $got != $want (metrics.json)" >&2; exit 1; }
cp "$src/tokenizer.json" "$src/loss.png" "$dst/"
cp "$src/metrics.json" "$src/loss.csv" "$src/log.txt" "$dst/training/"
chmod u+w "$dst"/tokenizer.json "$dst"/loss.png "$dst"/training/*
echo "model.bin sha256 $got OK; now: python3 models/recipe/verify_numpy.py"
