#!/usr/bin/env bash
# The GPU benchmark, from the project's working tree, on a GPU machine with CUDA, PyTorch and transformers but
# nothing else of ours (benchmarks/gpu/README.md gives the exact calls of the device tool).
#
#   bash benchmarks/gpu/run.sh [bench_gpu.py options]     # on the GPU machine, in the repository root
#   bash benchmarks/gpu/run.sh --dry-run --out DIR         # anywhere: every part on the CPU, tiny (CI runs it)
#
# On the GPU machine: stash the pieces this call carried (.gpu/callN, made by carry_wheels.sh) in $STASH, which
# outlives the call while the machine stays warm; unpack the archives that are complete (payload.py); put the
# carried packages and this tree on PYTHONPATH (the machine's own torch and transformers stay: nothing is
# installed over them); run every part whose inputs are there and that no earlier call ran (bench_gpu.py).
# Results go to $OUT (the device tool's folder) or out/gpu: gpu_results.json, gpu_results.md, payload.json, logs/.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=${PYTHON:-python3}
RESULTS=${OUT:-$ROOT/out/gpu}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1

for arg in "$@"; do
    if [ "$arg" = "--dry-run" ]; then
        export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
        case " $* " in *" --out "*) exec "$PY" "$HERE/bench_gpu.py" "$@" ;; esac
        exec "$PY" "$HERE/bench_gpu.py" --out "$RESULTS" "$@"
    fi
done

STASH=${STASH:-/tmp/classit-gpu}
mkdir -p "$RESULTS" "$STASH"
"$PY" "$HERE/payload.py" unpack --carried "$ROOT/.gpu" --stash "$STASH" | tee "$RESULTS/payload.json"
export PYTHONPATH="$STASH/root/site:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export CLASSIT_CACHE="$STASH/cache" HF_HOME="$STASH/hf"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader || true
"$PY" "$HERE/bench_gpu.py" --out "$RESULTS" --state "$STASH/state.json" --work "$STASH/work" \
    --dataset "$STASH/root/demo/CLASS_IT" --passages "$STASH/root/demo/passages.parquet" \
    --blimp "$STASH/root/blimp" "$@"
status=$?
cat "$RESULTS/gpu_results.md" 2>/dev/null
exit $status
