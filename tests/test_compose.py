"""The README's example: our grasp subtree composed into a user's own task, on the real graph."""

import py_trees
import pytest

from supersize_grasp.behaviors.collection import with_robot_topics
from supersize_grasp.behaviors.robot import EnableRobot
from supersize_grasp.behaviors.trial import trial_subtree
from tests.sim_tree import run_on_the_simulator


def tidy_up(config, log, chooser=None, grasps=3):
    """Enable the robot, then make three grasp trials with the left arm (as in the README)."""
    three_grasps = py_trees.decorators.Repeat(
        "Three grasps", trial_subtree("left", config, log, chooser=chooser), num_success=grasps
    )
    task = py_trees.composites.Sequence(
        "Tidy up", memory=True, children=[EnableRobot(config.robot), three_grasps]
    )
    return with_robot_topics("Root", config, ["left"], task)


@pytest.mark.slow
def test_readme_composition_runs_three_trials(tmp_path):
    store = run_on_the_simulator(tmp_path, tidy_up)
    outcomes = [(t.arm, t.outcome, t.message[:60]) for t in store.trials(labelled_only=False)]
    assert store.count() == 3, outcomes
    assert {t.arm for t in store.trials(labelled_only=False)} == {"left"}
    store.close()


@pytest.mark.slow
def test_a_chooser_that_never_chooses_logs_no_trial(tmp_path):
    """E.g. a scorer that never answers: no grasp, so nothing to log (and no crash), and the
    subtree recovers as after any failure."""

    def broken(side, config):
        return py_trees.behaviours.Failure("Scorer never answers")

    store = run_on_the_simulator(
        tmp_path, lambda config, log: tidy_up(config, log, chooser=broken, grasps=2)
    )
    assert list(store.trials(labelled_only=False)) == []
    store.close()
