# Two commands on a fresh machine: `make demo` (set up + main job) and `make test`.
.PHONY: setup demo test lint format clean

setup:
	@scripts/setup.sh

demo: setup
	.venv/bin/supersize-grasp check

test: setup
	@scripts/test.sh

format: setup
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .

clean:
	rm -rf build .venv .pytest_cache .ruff_cache
