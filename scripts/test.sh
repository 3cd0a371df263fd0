#!/usr/bin/env bash
# The whole suite: lint, format check, then pytest (real ROS 2 nodes on an isolated domain).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
echo "[test] ruff check"; ruff check .
echo "[test] ruff format --check"; ruff format --check .
# A domain of our own keeps parallel runs and other ROS 2 graphs out of the tests.
export ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-$((RANDOM % 100 + 1))}
echo "[test] pytest (ROS_DOMAIN_ID=$ROS_DOMAIN_ID)"
exec python -m pytest "$@"
