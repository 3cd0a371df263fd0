"""The one rule for following joint waypoints (behaviors/motion.py), shared by the tree's
``MoveJoints`` and the bulk collector: plain Python, so tested without ROS or physics."""

from supersize_grasp.behaviors.motion import STILL_SPEED, PathFollower

PATH = [{"j": 0.1}, {"j": 0.2}, {"j": 0.3}]
STILL = {"j": 0.0}
MOVING = {"j": 10 * STILL_SPEED}


def test_intermediate_waypoints_pass_at_twice_the_tolerance_the_last_at_the_tolerance():
    follower = PathFollower(PATH, tolerance=0.01)
    step = follower.step(0.0, {"j": 0.0}, MOVING)
    assert (step.outcome, step.index, step.target) == ("moving", 0, {"j": 0.1})
    step = follower.step(0.1, {"j": 0.085}, MOVING)  # within 0.02 of the first: on to the next
    assert (step.outcome, step.index) == ("moving", 1)
    step = follower.step(0.2, {"j": 0.185}, MOVING)  # within 0.02 of the second: on to the last
    assert (step.outcome, step.index, step.target) == ("moving", 2, {"j": 0.3})
    assert follower.step(0.3, {"j": 0.295}, MOVING).outcome == "arrived"


def test_blocked_only_after_standing_still_for_the_blocked_time():
    follower = PathFollower(PATH, tolerance=0.01, stop_when_blocked=True, blocked_time=0.3)
    assert follower.step(0.0, {"j": 0.0}, STILL).outcome == "moving"
    assert follower.step(0.2, {"j": 0.0}, STILL).outcome == "moving"
    assert follower.step(0.25, {"j": 0.0}, MOVING).outcome == "moving"  # moved: start again
    assert follower.step(0.5, {"j": 0.0}, STILL).outcome == "moving"
    step = follower.step(0.8, {"j": 0.0}, STILL)
    assert (step.outcome, step.index) == ("blocked", 0)


def test_states_that_stop_arriving_never_read_as_blocked():
    """The same stamp again (no new joint state on a loaded machine) adds no stood-still time."""
    follower = PathFollower(PATH, tolerance=0.01, stop_when_blocked=True, blocked_time=0.3)
    for _ in range(100):
        assert follower.step(1.0, {"j": 0.0}, STILL).outcome == "moving"


def test_without_stop_when_blocked_a_still_arm_keeps_moving_on():
    follower = PathFollower(PATH, tolerance=0.01)
    for t in range(10):
        assert follower.step(float(t), {"j": 0.0}, STILL).outcome == "moving"


def test_an_arm_waiting_at_a_waypoint_for_a_late_tick_is_not_blocked():
    """Ticks 0.5 s apart (a simulator faster than real time, a loaded machine): the arm reaches
    each waypoint between two ticks and waits there, still, for the next command."""
    follower = PathFollower(PATH, tolerance=0.01, stop_when_blocked=True, blocked_time=0.3)
    assert follower.step(0.0, {"j": 0.0}, STILL).outcome == "moving"  # before its command
    for t, at, index in ((0.5, 0.1, 1), (1.0, 0.2, 2)):
        step = follower.step(t, {"j": at}, STILL)
        assert (step.outcome, step.index) == ("moving", index)
    assert follower.step(1.5, {"j": 0.3}, STILL).outcome == "arrived"


def test_blocked_short_of_a_waypoint_after_its_command():
    follower = PathFollower(PATH, tolerance=0.01, stop_when_blocked=True, blocked_time=0.3)
    assert follower.step(0.0, {"j": 0.0}, STILL).outcome == "moving"  # command goes out
    assert follower.step(0.5, {"j": 0.05}, STILL).outcome == "moving"  # stopped short: since 0.5
    step = follower.step(1.0, {"j": 0.05}, STILL)
    assert (step.outcome, step.index) == ("blocked", 0)
