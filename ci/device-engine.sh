#!/usr/bin/env bash
# One GPU-machine call for the engine's figures (issues 16 and 17), after ci/device-prep.sh:
#   source .device/boot.sh && source .devdist/env.sh && bash ci/device-engine.sh
# Writes to $OUT (at most 8 files): gpu.txt, engine-bench.{json,log}, methods.{json,log},
# runs.tar (the run folders) and runs.log. Each step has a time limit so the call ends in time.
# STEPS picks a subset (default: all, in this order): bench methods b128 sweep cmp — a GPU lease
# allows about 10 minutes a call, so a session may split them, e.g. STEPS="bench methods", then
# STEPS="b128 sweep cmp".
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
{
  want b128 && step "${T_B128:-140}" node "$cli" run suites/sharegpt-batch128.yaml --engine webgpu --ep webgpu --out "$out/runs/sharegpt-batch128-webgpu" --quiet
  want sweep && step "${T_SWEEP:-110}" node "$cli" run suites/engine-sweep.yaml --out "$out/runs/engine-sweep" --quiet
  want cmp && step "${T_CMP:-60}" node "$cli" run suites/engine-comparison.yaml --out "$out/runs/engine-comparison" --quiet
} > "$out/runs.log" 2>&1
tar -C "$out/runs" -cf "$out/runs.tar" . && rm -rf "$out/runs"
for f in engine-bench.log methods.log runs.log; do [ -f "$out/$f" ] && grep -v -E 'XDG|^\s*$' "$out/$f" | tail -30; done
true
