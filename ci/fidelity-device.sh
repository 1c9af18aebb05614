#!/usr/bin/env bash
# The fidelity check on the GPU machine, in one call (models/recipe/README.md, "Fidelity check"):
#   (a) the embedded model (llama2.c, fp16) converted to a Hugging Face LlamaForCausalLM folder
#       (wq/wk rows permuted from interleaved to half-split RoPE) and transformers' greedy tokens on it;
#   (b) the CI fixture: a tiny random LlamaForCausalLM saved by transformers (bf16 safetensors,
#       Llama-3 rope scaling, GQA, untied) with a byte-level BPE tokenizer.json trained by
#       `tokenizers` on this repository's text, and what transformers and tokenizers produce on it;
#   (c) that folder exported to ONNX by torch's exporter (plain-tensor wrapper, optimum naming);
#   then the project's WGSL engine (this GPU) and onnxruntime CPU on the converted folders, compared
#   with transformers' tokens (equal, or a first divergence at a near tie: margin < 0.01).
# Prepare with ci/device-prep.sh, then run with carry [".device", ".devdist"]:
#   source .device/boot.sh && source .devdist/env.sh && bash ci/fidelity-device.sh
# Writes to $OUT (4 files): summary.json (every check, ok or not), fidelity.log, minillama-transformers.json,
# hf-tiny-fixture.tar (tests/fixtures/hf-tiny/: untar at the repository root and commit). About a minute.
set -uo pipefail
: "${OUT:?set OUT to the folder for the results}"
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)
log="$OUT/fidelity.log"
status=0
step() { echo "== $*" | tee -a "$log"; }
run() { "$@" >>"$log" 2>&1 || { echo "   failed (exit $?): $*" | tee -a "$log"; status=1; }; }

step "python: $(python3 -c 'import torch, transformers, tokenizers; print("torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__)' 2>&1)"
step "(a) the embedded model as a Hugging Face folder, and transformers' greedy tokens on it"
run python3 models/recipe/llama2c_to_hf.py models/minillama-12l "$work/minillama-hf"
run python3 models/recipe/fidelity_transformers.py greedy --folder "$work/minillama-hf" --prompts models/recipe/fidelity-prompts.json --max-new 32 --out "$OUT/minillama-transformers.json"
step "(b)+(c) the tiny transformers fixture, its ONNX export"
fixture="$work/fixture/tests/fixtures/hf-tiny"
run python3 models/recipe/fidelity_transformers.py fixture --out "$fixture" --repo "$root"
step "the project's engine and onnxruntime CPU against transformers"
run node .devdist/models/recipe/fidelity-tokens.js --minillama-hf "$work/minillama-hf" --minillama-ref "$OUT/minillama-transformers.json" --tiny "$fixture" --out "$OUT/summary.json"
if [ -d "$fixture" ]; then tar -C "$work/fixture" -cf "$OUT/hf-tiny-fixture.tar" tests; fi
step "done (status $status): $(ls "$OUT" | tr '\n' ' ')"
rm -rf "$work"
exit $status
