"""Gripper semantics and whole grasp trials on objects of known size (real physics)."""

import math

import numpy as np
import pytest

from supersize_grasp.bulk.trial import run_grasp_trial
from supersize_grasp.config import load_config
from supersize_grasp.simulator.contacts import held_object
from supersize_grasp.simulator.errors import CommandRejectedError
from supersize_grasp.simulator.world import BaxterWorld

CONFIG = load_config()  # the trial's heights, timeouts and labelling rule


def test_gripper_needs_calibration_and_valid_values(world):
    gripper = world.gripper("left")
    assert not gripper.calibrated and not gripper.ready
    with pytest.raises(CommandRejectedError, match="not calibrated"):
        gripper.grip()
    gripper.calibrate()
    assert gripper.ready
    for bad in (-1.0, 100.5, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"\[0, 100\]"):
            gripper.command(bad)
    with pytest.raises(ValueError, match="force"):
        gripper.command(50.0, force=200.0)


def test_gripper_executes_the_sdk_commands_by_name(world):
    """The SDK's EndEffectorCommand names and JSON args, as the electric gripper takes them: a
    configured force applies to the next grips and outlives a new clutter."""
    gripper = world.gripper("left")
    gripper.execute("calibrate", {})
    gripper.execute("set", {"moving_force": 30.0})
    gripper.execute("grip", {})
    assert gripper.force_limit == 30.0 and world.gripper("right").force_limit == 60.0
    world.step_until(lambda: not gripper.moving, 2.0)
    gripper.execute("go", {"position": 60.0})
    world.step_until(lambda: not gripper.moving, 2.0)
    assert gripper.position == pytest.approx(60.0, abs=1.0)
    for command, args, error in (
        ("go", {}, '"go" needs'),
        ("set", {"force": 101.0}, r"force must be .* \[0, 100\]"),
        ("wave", {}, "unknown command 'wave'"),
    ):
        with pytest.raises(ValueError, match=error):
            gripper.execute(command, args)
    world.reset_scene()
    assert world.gripper("left").calibrated
    assert world.gripper("left").configured_force == 30.0
    world.gripper("left").execute("clear_calibration", {})
    assert not world.gripper("left").calibrated


def test_gripper_moves_to_commanded_position(world):
    gripper = world.gripper("right")
    gripper.calibrate()
    gripper.command(40.0)
    assert gripper.moving
    world.step_until(lambda: not gripper.moving, 2.0)
    assert gripper.position == pytest.approx(40.0, abs=1.0)
    assert not gripper.gripping and not gripper.missed


def test_well_placed_grasp_lifts_box(world, make_box, top):
    world.place_objects([(make_box(mass=0.25), (0.6, 0.2, top + 0.025), (0, 0, 0, 1))])
    result = run_grasp_trial(world, CONFIG, "left", 0.6, 0.2, 0.0)
    assert result.ik_ok and result.success and not result.missed
    assert result.force > 10.0
    assert result.lifted and result.object_id == "test/box"
    # 50 mm box between pads that close from 35 to 76.7 mm: (50 - 35) / 41.7 = 36 % open.
    assert result.gripper_position == pytest.approx(36.0, abs=3.0)
    assert world.warnings() == {}


def test_held_box_weighs_on_endpoint_wrench(world, make_box, top):
    world.place_objects([(make_box(mass=0.3), (0.6, 0.2, top + 0.025), (0, 0, 0, 1))])
    arm, gripper = world.arm("left"), world.gripper("left")
    gripper.calibrate()
    for z in (top + 0.1, top + 0.012):
        ok, joints = arm.solve_top_down(0.6, 0.2, z, 0.0)
        assert ok
        arm.command_joint_dict(joints)
        assert world.step_until(arm.at_target, 4.0)
    gripper.grip()
    world.step_until(lambda: not gripper.moving, 1.5)
    ok, joints = arm.solve_top_down(0.6, 0.2, top + 0.2, 0.0)
    arm.command_joint_dict(joints)
    assert world.step_until(arm.at_target, 4.0)
    world.step(0.3)
    assert gripper.gripping
    assert gripper.gap == pytest.approx(0.05, abs=0.0015)
    assert not world.objects()[0].on_table
    force, _ = arm.endpoint_wrench()
    assert force[2] == pytest.approx(-0.3 * 9.81, rel=0.15)


def test_grasp_on_nothing_reports_missed(world, make_box, top):
    world.place_objects([(make_box(), (0.6, 0.2, top + 0.025), (0, 0, 0, 1))])
    result = run_grasp_trial(world, CONFIG, "left", 0.6, 0.4, 0.5)
    assert result.ik_ok and not result.success and result.missed
    assert result.gripper_position < 2.0
    assert not result.lifted and result.object_id == ""  # 20 cm from the only box


def test_too_wide_object_fails(world, make_box, top):
    # 90 mm across the finger axis: wider than the 76.7 mm opening, the pads land on top.
    world.place_objects([(make_box((0.045, 0.045, 0.02)), (0.6, 0.2, top + 0.02), (0, 0, 0, 1))])
    result = run_grasp_trial(world, CONFIG, "left", 0.6, 0.2, 0.0)
    assert not result.success


def test_badly_placed_grasp_on_edge_does_not_lift(world, make_box, top):
    # Pads close 3.3 cm beside the centre of a 4 cm wide box: only their edge touches it.
    world.place_objects([(make_box((0.05, 0.02, 0.02)), (0.6, 0.2, top + 0.02), (0, 0, 0, 1))])
    result = run_grasp_trial(world, CONFIG, "left", 0.6, 0.2 + 0.033, math.pi / 2)
    assert not result.success
    assert result.object_id == "test/box"  # a failed trial names its object too


def test_right_arm_grasps_on_its_half(world, make_box, top):
    world.place_objects([(make_box(mass=0.1), (0.55, -0.25, top + 0.025), (0, 0, 0, 1))])
    result = run_grasp_trial(world, CONFIG, "right", 0.55, -0.25, math.pi / 2)
    assert result.success
    # put_down leaves it back on the table
    assert world.objects()[0].on_table
    assert np.linalg.norm(world.objects()[0].pose.position[:2] - (0.55, -0.25)) < 0.03


def test_a_motion_that_times_out_aborts_the_trial(world, make_box, top):
    """As the tree's ``MoveJoints`` fails after ``trial.motion_timeout``, so the bulk trial stops
    at that step, names it, and lets go; stopped before the approach pose, it was never executed
    (collectors log nothing of it, as the tree does)."""
    world.place_objects([(make_box(mass=0.25), (0.6, 0.2, top + 0.025), (0, 0, 0, 1))])
    gripper = world.gripper("left")
    gripper.calibrate()
    world.step_until(lambda: not gripper.moving, 5.0)
    hurried = CONFIG.model_copy(
        update={"trial": CONFIG.trial.model_copy(update={"motion_timeout": 0.2})}
    )
    result = run_grasp_trial(world, hurried, "left", 0.6, 0.2, 0.0)
    assert result.ik_ok and not result.success and not result.executed
    assert result.aborted_after == "Move 25 cm above"
    assert result.object_id == ""
    assert not gripper.moving and gripper.position > 90.0


@pytest.mark.parametrize("noslip, held", [(0, False), (5, True)])
def test_a_thin_object_creeps_out_of_the_grip_unless_no_slip_is_on(noslip, held):
    """random_urdfs/333 (1.8 x 5.2 x 5.0 cm) lifted by a centre grasp is held when the trial
    labels it, then MuJoCo's soft contacts let it slide out within 3 s: the no-slip solver
    (simulator.physics.noslip_iterations) holds it."""
    pytest.importorskip("pybullet_data")
    config = load_config(
        [],
        {"simulator.physics.noslip_iterations": noslip, "simulator.objects.graspable_only": False},
    )
    world = BaxterWorld(config.simulator, seed=0)
    try:
        (thin,) = [o for o in world.library().objects("train") if o.object_id.endswith("/333")]
        top = config.simulator.table.top_z
        world.place_objects([(thin, (0.6, 0.15, top + thin.extents[2] / 2 + 0.002), (0, 0, 0, 1))])
        world.enable()
        arm, gripper = world.arm("left"), world.gripper("left")
        gripper.calibrate()
        world.step_until(lambda: not gripper.moving, 3.0)
        x, y = world.objects()[0].pose.position[:2]
        grasp_z = top + config.trial.grasp_depth
        for z in (grasp_z + config.trial.approach_height, grasp_z):
            ok, joints = arm.solve_top_down(x, y, z, 0.0)
            assert ok
            arm.command_joint_dict(joints)
            assert world.step_until(arm.at_target, 4.0)
        gripper.grip()
        world.step_until(lambda: not gripper.moving, 1.5)
        ok, joints = arm.solve_top_down(x, y, grasp_z + config.trial.lift_height, 0.0)
        arm.command_joint_dict(joints)
        assert world.step_until(arm.at_target, 4.0)
        world.step(config.trial.label_settle)
        assert gripper.gripping and held_object(world, "left") == thin.object_id  # labelled
        world.step(3.0)
        assert (held_object(world, "left") == thin.object_id) == held
    finally:
        world.close()
