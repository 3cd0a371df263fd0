#!/usr/bin/env bash
# The whole suite N times in a row while K busy processes burn the CPU: a test that fails by chance
# on a loaded machine shows up here, not in CI. Usage: scripts/test_under_load.sh [N] [K]
# (defaults 5 and 2). Each run is `make test` (set-up included, so a fresh clone works); its log
# goes to artifacts/under_load/run-I.log and a line per run to artifacts/under_load/summary.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
BURNERS=${2:-2}
OUT=artifacts/under_load
mkdir -p "$OUT"
SUMMARY=$OUT/summary.txt

burners=()
stop_burners() {
  ((${#burners[@]})) && kill "${burners[@]}" 2>/dev/null
  wait "${burners[@]}" 2>/dev/null
}
trap stop_burners EXIT
trap 'exit 130' INT TERM
for ((b = 0; b < BURNERS; b++)); do
  python3 -c 'while True: pass' &
  burners+=($!)
done

echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD): $RUNS runs of make test beside $BURNERS busy processes ($(nproc) CPUs)" | tee -a "$SUMMARY"
failed=0
for ((i = 1; i <= RUNS; i++)); do
  start=$(date +%s)
  make test >"$OUT/run-$i.log" 2>&1
  code=$?
  seconds=$(($(date +%s) - start))
  result=$(grep -E '^=+ .*(passed|failed|error).* in ' "$OUT/run-$i.log" | tail -1 | tr -d '=')
  line="run $i: exit $code in ${seconds}s:${result:- (no pytest summary)}"
  echo "$line" | tee -a "$SUMMARY"
  ((code == 0)) || failed=$((failed + 1))
done
echo "# $((RUNS - failed))/$RUNS runs passed" | tee -a "$SUMMARY"
((failed == 0))
