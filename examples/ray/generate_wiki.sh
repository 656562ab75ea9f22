#!/bin/bash
# generate-wiki on a Ray cluster that is already running: `ray start --head` on one machine and
# `ray start --address=HEAD:6379` on the others, the passages and the output folder on a filesystem every
# node sees. One engine replica per GPU of the cluster; rerun the same line after a failure: only the
# passages still missing are generated.
#   examples/ray/generate_wiki.sh HEAD:6379 /shared/passages.parquet /shared/qa [REPLICAS] [MODEL]
set -euo pipefail
address=${1:?the Ray head, host:6379}
passages=${2:?the passage file (prepare-wiki)}
out=${3:?the output folder, on a shared filesystem}
replicas=${4:-1}
model=${5:-meta-llama/Llama-3.2-3B-Instruct}
classit-data generate-wiki --passages "$passages" --out "$out" --model "$model" \
    --executor ray --ray-address "$address" --data-parallel-size "$replicas" --tensor-parallel-size 1
