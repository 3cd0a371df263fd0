"""The model: built from the URDF, steps cleanly, gripper and table where they should be."""

import mujoco
import numpy as np
import pytest

from supersize_grasp.config.simulator import SimulatorConfig
from supersize_grasp.simulator.scene import (
    FINGER_TRAVEL,
    URDF_PATH,
    build_model,
    home_joint_positions,
)
from supersize_grasp.simulator.world import JOINT_NAMES, BaxterWorld


def test_urdf_limits_kept(make_config):
    urdf = mujoco.MjModel.from_xml_path(str(URDF_PATH))
    model = build_model(make_config())
    for name in JOINT_NAMES:
        np.testing.assert_allclose(model.joint(name).range, urdf.joint(name).range)
        np.testing.assert_allclose(model.joint(name).axis, urdf.joint(name).axis)
    assert model.nu == 17  # 14 arm joints, head pan, two grippers
    assert {model.actuator(i).name for i in range(model.nu)} >= {
        "left_s0_act",
        "r_gripper_l_finger_joint_act",
    }


@pytest.mark.parametrize("opening, gap", [(0.0, 0.035), (FINGER_TRAVEL, 0.0767)])
def test_slot3_paddle_gap(opening, gap, make_config):
    model = build_model(make_config())
    data = mujoco.MjData(model)
    for side in ("l", "r"):
        data.qpos[model.jnt_qposadr[model.joint(f"{side}_gripper_l_finger_joint").id]] = opening
        data.qpos[model.jnt_qposadr[model.joint(f"{side}_gripper_r_finger_joint").id]] = -opening
        mujoco.mj_forward(model, data)
        a = model.geom(f"{side}_gripper_l_paddle")
        b = model.geom(f"{side}_gripper_r_paddle")
        inner = np.linalg.norm(data.geom_xpos[a.id] - data.geom_xpos[b.id]) - 2 * a.size[1]
        assert inner == pytest.approx(gap, abs=5e-4)


def test_home_keyframe_matches_names(make_config):
    model = build_model(make_config())
    key = model.key("home")
    for name, value in home_joint_positions().items():
        assert key.qpos[model.jnt_qposadr[model.joint(name).id]] == pytest.approx(value)


@pytest.mark.parametrize("seed", [0, 1])
def test_scene_steps_without_warnings(seed, make_config, top):
    world = BaxterWorld(make_config(), seed=seed)
    world.reset_scene(8)
    arm = world.arm("left")
    ok, joints = arm.solve_top_down(0.55, 0.25, top + 0.2, 0.5)
    assert ok
    arm.command_joint_dict(joints)
    world.step(2.0)
    assert world.warnings() == {}
    assert np.all(np.isfinite(world.joint_positions()))
    # Arms at rest under gravity compensation hold their commanded pose.
    assert arm.at_target(0.01)
    world.close()


def test_default_mesh_object_set_steps_without_warnings():
    pytest.importorskip("pybullet_data")
    world = BaxterWorld(SimulatorConfig(), seed=7)  # default set: pybullet random_urdfs
    world.reset_scene(6, split="novel")
    world.step(1.0)
    assert world.warnings() == {}
    assert all(o.object_id.startswith("random_urdfs/") for o in world.objects())
    assert len(world.objects_on_table()) >= 5
    world.close()
