#!/usr/bin/env bash
# Prepares a run on the project's separate GPU machine (no Node, no network, 64 MiB per transfer):
#   1. builds a clean checkout of a commit (default HEAD) in a scratch worktree, so uncommitted
#      work in this tree never runs there and the recorded commit is exact;
#   2. packs Node and the runtime dependencies (../shared/tools/device-pack, pruned);
#   3. copies the build, without maps, typings and the browser bundle, to .devdist/ (ignored), with
#      .devdist/env.sh exporting MINICACHE_GIT_SHA for provenance (the machine's copy of the tree
#      carries stale git metadata);
#   4. prints the transfer size: tracked files + .device + .devdist must stay under 64 MiB.
# Then call the device with carry [".device", ".devdist"] and a command such as
#   source .device/boot.sh && source .devdist/env.sh && node .devdist/runners/node/cli.js run suites/gpu-h200.yaml --ep webgpu --out $OUT/run
#
#   ci/device-prep.sh [COMMIT]
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
commit=$(git rev-parse "${1:-HEAD}")
work=$(mktemp -d)
trap 'git worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

echo "device-prep: building $commit in a clean worktree"
git worktree add -q --detach "$work/tree" "$commit"
ln -s "$root/node_modules" "$work/tree/node_modules"
(cd "$work/tree" && npx tsc -p tsconfig.json)

excl="${DEVICE_PACK_EXCLUDE:-binaryen assemblyscript typescript onnxruntime-web playwright-core @esbuild esbuild jieba-wasm rollup @rollup @resvg vitest @vitest vite vite-node vega vega-lite vega-embed @types @webgpu protobufjs chai}"
DEVICE_PACK_EXCLUDE="$excl" "$root/../shared/tools/device-pack"

# Tighter than device-pack's own: Node and Dawn stripped of symbols, x86 BCJ filter and xz -9e
# (about 8 MiB less; boot.sh's `xz -dc` reads either). The WebGPU engine's dawn.node and
# onnxruntime-node's library both travel, so they can be compared in one process.
tmp=$(mktemp -d)
cp "$(readlink -f "$(command -v node)")" "$tmp/node" && strip --strip-all "$tmp/node"
xz -T0 --x86 --lzma2=preset=9e -c "$tmp/node" > .device/node.xz
ex=(--exclude='node_modules/onnxruntime-node/bin/napi-v6/darwin' --exclude='node_modules/onnxruntime-node/bin/napi-v6/win32'
    --exclude='node_modules/onnxruntime-node/bin/napi-v6/linux/arm64' --exclude='node_modules/webgpu/dist/win32-*'
    --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='*.map' --exclude='*.d.ts'
    --exclude='node_modules/.cache' --exclude='node_modules/webgpu/dist/linux-x64/dawn.node')
for p in $excl; do ex+=(--exclude="node_modules/$p"); done
mkdir -p "$tmp/nm/node_modules/webgpu/dist/linux-x64"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$tmp/nm/node_modules/webgpu/dist/linux-x64/" && strip --strip-unneeded "$tmp/nm/node_modules/webgpu/dist/linux-x64/dawn.node"
tar "${ex[@]}" -cf "$tmp/nm.tar" node_modules
tar -C "$tmp/nm" -rf "$tmp/nm.tar" node_modules/webgpu/dist/linux-x64/dawn.node
xz -T0 --x86 --lzma2=preset=9e -c "$tmp/nm.tar" > .device/node_modules.tar.xz
rm -rf "$tmp"

rm -rf .devdist
cp -r "$work/tree/dist" .devdist
find .devdist \( -name '*.map' -o -name '*.d.ts' \) -delete
rm -rf .devdist/browser .devdist/ci
printf 'export MINICACHE_GIT_SHA=%s\n' "$commit" > .devdist/env.sh
grep -qx '/.devdist/' .git/info/exclude 2>/dev/null || echo '/.devdist/' >> .git/info/exclude

mib() { awk '{ printf "%.2f", $1 / 1048576 }'; }
tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
total=$(( tracked + $(du -sb .device | cut -f1) + $(du -sb .devdist | cut -f1) ))
echo "device-prep: transfer $(echo "$total" | mib) MiB (tracked files $(echo "$tracked" | mib), .device, .devdist)"
if [ "$total" -gt $(( 64 * 1048576 )) ]; then
  echo "device-prep: over the 64 MiB limit. Tracked folders by size (move one aside during the call, e.g. results/):" >&2
  git ls-files | cut -d/ -f1 | sort -u | while read -r d; do printf '%s\t%s\n' "$(git ls-files -z -- "$d" | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1 | mib)" "$d"; done | sort -rn | head -5 >&2
  exit 3
fi
