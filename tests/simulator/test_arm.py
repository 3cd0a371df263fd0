"""Arms: numerical IK, position-mode commands and their refusals, enable / E-stop."""

import math

import numpy as np
import pytest

from supersize_grasp.geometry import top_down_quaternion
from supersize_grasp.simulator.errors import CommandRejectedError


def _angle_between(q1, q2):
    return 2 * math.acos(min(1.0, abs(float(np.dot(q1, q2)))))


@pytest.mark.parametrize("side", ["left", "right"])
def test_ik_round_trip(world, side):
    arm = world.arm(side)
    rng = np.random.default_rng(5)
    for _ in range(5):
        q = arm.lower + rng.uniform(0.2, 0.8, size=7) * (arm.upper - arm.lower)
        goal = arm.forward_kinematics(dict(zip(arm.joint_names, q, strict=True)))
        ok, joints = arm.solve_ik(goal.position, goal.orientation)
        assert ok
        reached = arm.forward_kinematics(joints)
        assert np.linalg.norm(reached.position - goal.position) < 0.002
        assert _angle_between(reached.orientation, goal.orientation) < 0.0175
        values = np.array(list(joints.values()))
        assert np.all(values >= arm.lower - 1e-9) and np.all(values <= arm.upper + 1e-9)


def test_ik_orientation_error_at_180_degrees(world):
    # A goal rotated 180 deg about the approach axis from the current pose: a cross-product
    # error would be zero there and report success without turning the wrist.
    arm = world.arm("left")
    ok, joints = arm.solve_top_down(0.6, 0.3, -0.05, 0.0)
    assert ok
    ok2, turned = arm.solve_ik((0.6, 0.3, -0.05), top_down_quaternion(math.pi), seed=joints)
    assert ok2
    before = arm.forward_kinematics(joints).orientation
    after = arm.forward_kinematics(turned).orientation
    assert _angle_between(before, after) == pytest.approx(math.pi, abs=0.03)
    assert _angle_between(after, top_down_quaternion(math.pi)) < 0.0175


def test_ik_unreachable_is_invalid(world):
    arm = world.arm("left")
    ok, _ = arm.solve_ik((1.6, 0.3, 0.0), top_down_quaternion(0.0))
    assert not ok
    # Within the reach sphere but not top-down reachable (measured: nothing at x = 0.9).
    ok, _ = arm.solve_top_down(0.92, 0.25, -0.143, 0.0)
    assert not ok


def test_ik_does_not_disturb_simulation(world):
    before = world.joint_positions()
    world.arm("right").solve_top_down(0.6, -0.3, -0.1, 1.0)
    np.testing.assert_array_equal(before, world.joint_positions())


def test_position_mode_reaches_pose_at_limited_speed(world, top):
    arm = world.arm("left")
    ok, joints = arm.solve_top_down(0.6, 0.2, top + 0.25, 0.3)
    assert ok
    arm.command_joint_dict(joints)
    peak = 0.0
    start = world.time
    while not arm.at_target() and world.time - start < 5.0:
        world.step(0.02)
        peak = max(peak, float(np.max(np.abs(world.joint_velocities()[1:8]) / arm.velocity_limits)))
    assert arm.at_target()
    assert peak < 1.1  # velocity limits respected (small overshoot of the servo allowed)
    linear, _ = arm.endpoint_twist()
    assert np.linalg.norm(linear) > 0.0  # still settling the last few millimetres
    world.step(0.5)
    pose = arm.endpoint_pose()
    np.testing.assert_allclose(pose.position, (0.6, 0.2, top + 0.25), atol=0.005)
    assert _angle_between(pose.orientation, top_down_quaternion(0.3)) < 0.03
    linear, angular = arm.endpoint_twist()
    assert np.linalg.norm(linear) < 0.02 and np.linalg.norm(angular) < 0.05


@pytest.mark.parametrize(
    "names, values, message",
    [
        (["left_s0", "left_s1"], [0.0], "2 joint names but 1 positions"),
        (["left_s9"], [0.0], "unknown joint 'left_s9'"),
        (["right_s0"], [0.0], "unknown joint 'right_s0' for the left arm"),
        (["left_s0"], [float("nan")], "not finite"),
        (["left_e1"], [3.0], "outside its limits"),
        (["left_s0", "left_s0"], [0.0, 0.1], "repeated"),
    ],
)
def test_bad_joint_commands_are_refused(world, names, values, message):
    with pytest.raises(ValueError, match=message):
        world.arm("left").command_joint_positions(names, values)


def test_disabled_and_estop_refuse_commands_and_do_not_drive(world):
    arm = world.arm("left")
    world.enable(False)
    with pytest.raises(CommandRejectedError, match="disabled"):
        arm.command_joint_positions(["left_s0"], [0.0])
    with pytest.raises(CommandRejectedError):
        world.gripper("left").calibrate()
    world.step(0.2)
    assert np.allclose(world.joint_efforts()[1:8], 0.0)
    world.enable(True)
    world.gripper("left").calibrate()
    world.estop()
    assert world.stopped and not world.enabled
    with pytest.raises(CommandRejectedError, match="E-stop"):
        world.gripper("left").grip()
    with pytest.raises(CommandRejectedError, match="E-stop"):
        world.enable(True)
    world.reset_estop()
    assert not world.enabled
    world.enable(True)
    arm.command_joint_positions(["left_s0"], [0.2])
    world.step_until(arm.at_target, 3.0)
    assert arm.joint_positions()["left_s0"] == pytest.approx(0.2, abs=0.01)


def test_joint_state_vectors(world):
    assert world.joint_names[0] == "head_pan"
    assert "l_gripper_l_finger_joint" in world.joint_names
    assert len(world.joint_names) == 19
    for vector in (world.joint_positions(), world.joint_velocities(), world.joint_efforts()):
        assert vector.shape == (19,)
