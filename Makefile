# Two commands on a fresh machine: `make demo` (set up + main job) and `make test`.
.PHONY: setup demo test lint format clean

setup:
	@scripts/setup.sh

# The main job on the embedded default: a look at the simulated clutter, then autonomous random
# grasp collection with both arms of the simulated Baxter (run again to collect more).
demo: setup
	.venv/bin/supersize-grasp sim --save-image artifacts/scene.png
	.venv/bin/supersize-grasp collect --trials 100 --data data/demo
	.venv/bin/supersize-grasp dataset data/demo

test: setup
	@scripts/test.sh

format: setup
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .

clean:
	rm -rf build .venv .pytest_cache .ruff_cache
