#!/usr/bin/env bash
# Merge the shards of one submission into one set of reports (never the committed reports/ itself); the
# scheduler's merge script sets SCHEDULER (the runs/<scheduler>/<tag> folder), submit.sh PROJECT, PYTHON, TAG.
set -euo pipefail
cd "$PROJECT"
shards=()
for folder in "$PROJECT/runs/$SCHEDULER/$TAG"/shard*/runs; do shards+=(--runs-dir "$folder"); done
"$PYTHON" -m harness.cli.main report "${shards[@]}" --reports-dir "$PROJECT/reports/$SCHEDULER/$TAG"
