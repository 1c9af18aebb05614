#!/usr/bin/env bash
# One GPU-machine call for the engine's figures (issues 16 and 17), after ci/device-prep.sh:
#   source .device/boot.sh && source .devdist/env.sh && bash ci/device-engine.sh
# Writes to $OUT (at most 8 files): gpu.txt, engine-bench.{json,log}, methods.{json,log},
# runs.tar (the run folders) and runs.log. Each step has a time limit so the call ends in time.
# STEPS picks a subset (default: bench methods b128 sweep cmp, in this order) — a GPU lease
# allows about 10 minutes a call, so a session may split them, e.g. STEPS="bench methods", then
# STEPS="b128 sweep cmp". Three more, not in the default, write into runs.tar: matmul
# (bench/engine-matmul.ts), paper (bench/engine-paper-scale.ts on the 7B dummy card; PAPER_ARGS
# adds arguments, e.g. "--batch 32 --new 64") and fig5 (suites/fig5-7b-dummy.yaml, one cell per
# process, FIG5_REPEATS timed repeats, default 1, FIG5_WARMUP warm-ups, default the suite's;
# FIG5_FROM=DIR continues the partial run in DIR, a folder of the checkout: a runs.tar's
# fig5-7b-dummy unpacked there; FIG5_SUITE=FILE runs another suite file in its place, e.g. a copy
# with fewer cells for a short lease). MATMUL_ARGS passes arguments to the
# matmul bench; MATMUL_AUTO=1 runs the later steps with the kernels it found fastest.
set -u
steps=" ${STEPS:-bench methods b128 sweep cmp} "
want() { [[ "$steps" == *" $1 "* ]]; }
out=${OUT:-out/device}
mkdir -p "$out/runs"
cli=.devdist/runners/node/cli.js
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; date -u; } > "$out/gpu.txt" 2>&1
step() { local limit=$1; shift; echo "== $* (limit ${limit}s)"; timeout "$limit" "$@"; echo "== exit $?"; }
want bench && step "${T_BENCH:-120}" node .devdist/bench/engine-throughput.js --ort --parity --json "$out/engine-bench.json" > "$out/engine-bench.log" 2>&1
want methods && step "${T_METHODS:-170}" node .devdist/bench/engine-methods.js --json "$out/methods.json" > "$out/methods.log" 2>&1
# shellcheck disable=SC2086 # MATMUL_ARGS is a list of arguments
want matmul && step "${T_MATMUL:-120}" node .devdist/bench/engine-matmul.js ${MATMUL_ARGS:-} --json "$out/runs/matmul.json" --choice-out "$out/runs/matmul-choice.txt" > "$out/runs/matmul.log" 2>&1
# MATMUL_AUTO=1: the steps after it run with the matmul kernels it found fastest (recorded in provenance)
if [ "${MATMUL_AUTO:-0}" = 1 ] && [ -s "$out/runs/matmul-choice.txt" ]; then
  MINICACHE_MATMUL=$(cat "$out/runs/matmul-choice.txt"); export MINICACHE_MATMUL; echo "MINICACHE_MATMUL=$MINICACHE_MATMUL"
fi
# shellcheck disable=SC2086 # PAPER_ARGS is a list of arguments
want paper && step "${T_PAPER:-240}" node .devdist/bench/engine-paper-scale.js --model configs/models/llama-2-7b ${PAPER_ARGS:-} --json "$out/runs/paper-scale.json" > "$out/runs/paper-scale.log" 2>&1
[ -n "${FIG5_FROM:-}" ] && want fig5 && cp -r "$FIG5_FROM" "$out/runs/fig5-7b-dummy"
{
  want b128 && step "${T_B128:-140}" node "$cli" run suites/sharegpt-batch128.yaml --engine webgpu --ep webgpu --out "$out/runs/sharegpt-batch128-webgpu" --quiet
  want sweep && step "${T_SWEEP:-110}" node "$cli" run suites/engine-sweep.yaml --out "$out/runs/engine-sweep" --quiet
  want cmp && step "${T_CMP:-60}" node "$cli" run suites/engine-comparison.yaml --out "$out/runs/engine-comparison" --quiet
  want fig5 && step "${T_FIG5:-300}" node "$cli" run "${FIG5_SUITE:-suites/fig5-7b-dummy.yaml}" --isolate --repeats "${FIG5_REPEATS:-1}" ${FIG5_WARMUP:+--warmup "$FIG5_WARMUP"} ${FIG5_FROM:+--resume} --out "$out/runs/fig5-7b-dummy" --quiet
} > "$out/runs.log.full" 2>&1
# Dawn prints every refused buffer or dispatch with its call chain: keep the first line of each
# (the log once outgrew what a call returns) and at most the last 4,000 lines
grep -v -E '^ - While|^    at |^\s*$' "$out/runs.log.full" | tail -n 4000 > "$out/runs.log"; rm -f "$out/runs.log.full"
for f in engine-bench.log methods.log runs.log runs/matmul.log runs/paper-scale.log; do [ -f "$out/$f" ] && grep -v -E 'XDG|^\s*$' "$out/$f" | tail -30; done
tar -C "$out/runs" -cf "$out/runs.tar" . && rm -rf "$out/runs"
true
