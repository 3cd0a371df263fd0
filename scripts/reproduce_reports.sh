#!/usr/bin/env bash
# Regenerates reports/random and reports/robot from nothing: the README's learning commands, in order.
# Every step resumes: run it again after a kill and only what is missing is collected or trained.
# Usage: scripts/reproduce_reports.sh DATA_DIR   (the stores, models and reports go under DATA_DIR;
# about 1 h 50 min on 2 cores; reports/ in the work tree is updated at the end)
set -euo pipefail
data=${1:?usage: scripts/reproduce_reports.sh DATA_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/scripts/env.sh"
mkdir -p "$data"
step() { echo "== $(date -u +%H:%M:%S) $*"; "$@"; }
step supersize-grasp sim-collect --trials 8000 --data "$data/train" --workers 2 --quiet
step supersize-grasp sim-collect --trials 2500 --data "$data/novel" --split novel --workers 2 --quiet
step supersize-grasp train --data "$data/train" --out "$data/runs/cpu"
step supersize-grasp report --train "$data/train" --novel "$data/novel" \
    --model "CNN (cpu)=$data/runs/cpu/model.pt" --curve 500,1000,2000,4000 --out "$data/reports/random"
step supersize-grasp robot-test --model "$data/runs/cpu/model.pt" --out "$data/robot" --tries 150 \
    --tries-per-scene 30 --policies oracle,greedy,random --objects seen,novel --clutter-runs 0 --quiet
mkdir -p "$here/reports/random" "$here/reports/robot"
cp "$data"/reports/random/*.md "$data"/reports/random/*.json "$data"/reports/random/*.png "$here/reports/random/"
cp "$data"/robot/report.md "$data"/robot/results.json "$here/reports/robot/"
echo "== $(date -u +%H:%M:%S) done: reports/random and reports/robot updated"
