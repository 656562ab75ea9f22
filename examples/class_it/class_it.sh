#!/bin/bash
# CLASS-IT rebuilt from raw corpora and its 140M model trained on it, with the settings in this folder.
# Inputs (set them in the environment): SWDA (folder of pipe files), a Simple English Wikipedia dump, the
# BabyLM corpus files to pretrain on, and BLiMP. Generation wants a GPU; everything else runs anywhere.
set -euo pipefail
HERE=$(dirname "$0")
SWDA=${SWDA:?folder of SWDA pipe files}
WIKI=${WIKI:?simplewiki-YYYYMMDD-pages-articles-multistream.xml.bz2}
CORPUS=${CORPUS:?BabyLM training files, e.g. train_100M/*.train (space-separated)}
BLIMP=${BLIMP:?folder of BLiMP .jsonl files}
OUT=${OUT:-class_it}
mkdir -p "$OUT"

classit-data convert-switchboard "$SWDA" --out "$OUT/switchboard.parquet"
classit-data prepare-wiki "$WIKI" --out "$OUT/passages.parquet"
classit-data generate-wiki --passages "$OUT/passages.parquet" --out "$OUT/qa" --config "$HERE/generate-wiki.yaml"
classit-data validate "$OUT/switchboard.parquet" "$OUT/qa/qa.parquet" --passages "$OUT/passages.parquet" \
    --out "$OUT/kept.parquet" --quarantine "$OUT/rejected.parquet" --report "$OUT/validate.json" \
    --config "$HERE/validate.yaml"
classit-data build --switchboard "$OUT/kept.parquet" --wiki "$OUT/kept.parquet" --out "$OUT/CLASS_IT"

corpus=()
for file in $CORPUS; do corpus+=(--corpus "$file"); done
classit-train pretrain "${corpus[@]}" --out "$OUT/runs/base" --config "$HERE/pretrain.yaml"
classit-train run --dataset "$OUT/CLASS_IT" --base "$OUT/runs/base" --out "$OUT/runs/switch_wiki" \
    --config "$HERE/run.yaml"
classit-train eval --model "$OUT/runs/switch_wiki" --task blimp --data "$BLIMP" --out "$OUT/results.json"
