"""Head and hand cameras: pinhole intrinsics, metric depth, segmentation, table-plane helpers."""

import numpy as np
import pytest

from supersize_grasp.simulator.camera import NO_OBJECT, ROBOT_LABEL, CameraIntrinsics
from supersize_grasp.simulator.scene import SIDES
from supersize_grasp.simulator.world import BaxterWorld


def test_intrinsics_from_fovy():
    k = CameraIntrinsics.from_fovy(53.8, 640, 360)
    assert k.fx == k.fy == pytest.approx(180.0 / np.tan(np.radians(26.9)))
    assert (k.cx, k.cy) == (319.5, 179.5)


def test_known_point_projects_onto_its_pixel(world, make_box, top):
    # A 2 cm cube: its segmentation centroid must be the projection of its centre.
    centre = np.array([0.62, -0.12, top + 0.01])
    world.place_objects([(make_box((0.01, 0.01, 0.01)), centre, (0, 0, 0, 1))])
    frame = world.render_head_camera()
    _, _, width, height = world.config.camera.crop_window
    assert frame.rgb.shape == (height, width, 3) and frame.rgb.dtype == np.uint8
    assert frame.depth.dtype == np.float32 and frame.segmentation.shape == (height, width)
    vs, us = np.nonzero(frame.segmentation == 1)
    assert len(us) > 20
    u, v = frame.project(world.objects()[0].pose.position)[0]
    assert u == pytest.approx(us.mean(), abs=1.0)
    assert v == pytest.approx(vs.mean(), abs=1.0)


def test_the_crop_is_exactly_a_window_of_the_full_image(make_config, make_box, top):
    """The default head camera renders only the table's window of the 1920 x 1080 image: the
    same pixels as cutting that window from the full render, at the intrinsics it reports."""
    full_config = make_config(camera={"width": 640, "height": 360, "crop": (0, 0, 1, 1)})
    crop_config = make_config(camera={"width": 640, "height": 360, "crop": (0.2, 0.3, 0.7, 0.9)})
    x, y, w, h = crop_config.camera.crop_window
    frames = []
    for config in (full_config, crop_config):
        world = BaxterWorld(config, seed=5)
        try:
            world.place_objects([(make_box(), (0.55, 0.1, top + 0.025), (0, 0, 0, 1))])
            frames.append(world.render_head_camera())
        finally:
            world.close()
    full, crop = frames
    assert crop.segmentation.shape == (h, w) and (crop.segmentation == 1).sum() > 100
    np.testing.assert_array_equal(crop.segmentation, full.segmentation[y : y + h, x : x + w])
    np.testing.assert_allclose(crop.depth, full.depth[y : y + h, x : x + w], atol=1e-4)
    k, f = crop.intrinsics, full.intrinsics
    assert (k.fx, k.fy) == pytest.approx((f.fx, f.fy))
    assert (k.cx, k.cy) == pytest.approx((f.cx - x, f.cy - y), abs=1e-3)
    assert (k.width, k.height) == (w, h)


def test_depth_is_metric_and_plane_helpers_agree(world, top):
    frame = world.render_head_camera()
    for point in ([0.45, 0.3, top], [0.7, -0.2, top], [0.6, 0.0, top]):
        u, v = frame.project(np.array(point))[0]
        ui, vi = round(float(u)), round(float(v))
        seen = frame.pixel_to_point(ui, vi)
        on_plane = frame.pixel_to_plane(ui, vi, top)
        assert seen[2] == pytest.approx(top, abs=0.002)  # depth puts the table at its height
        np.testing.assert_allclose(seen, on_plane, atol=0.003)
        z_cam = (on_plane - frame.position) @ frame.rotation[:, 2]
        assert frame.depth[vi, ui] == pytest.approx(z_cam, abs=0.003)
        np.testing.assert_allclose(frame.project(on_plane)[0], (ui, vi), atol=1e-6)


def test_whole_object_region_visible_and_arms_out_of_view(world, top):
    frame = world.render_head_camera()
    k = frame.intrinsics
    corners = np.array([[x, y, top] for x in (0.35, 0.85) for y in (-0.45, 0.45)])
    uv = frame.project(corners)
    assert np.all((uv[:, 0] >= 0) & (uv[:, 0] < k.width) & (uv[:, 1] >= 0) & (uv[:, 1] < k.height))
    # At home no arm link is seen over the table region.
    u0, v0 = np.floor(uv.min(axis=0)).astype(int)
    u1, v1 = np.ceil(uv.max(axis=0)).astype(int)
    assert not np.any(frame.segmentation[v0:v1, u0:u1] == ROBOT_LABEL)
    # Once an arm reaches over the table, it is labelled as robot.
    arm = world.arm("left")
    ok, joints = arm.solve_top_down(0.6, 0.2, top + 0.15, 0.0)
    assert ok
    arm.command_joint_dict(joints)
    world.step_until(arm.at_target, 4.0)
    assert np.any(world.render_head_camera().segmentation == ROBOT_LABEL)


def test_segmentation_labels_follow_objects_order(world):
    world.reset_scene(4, seed=11)
    frame = world.render_head_camera()
    labels = set(np.unique(frame.segmentation)) - {NO_OBJECT, ROBOT_LABEL}
    assert labels <= {1, 2, 3, 4} and len(labels) >= 3
    for k, state in enumerate(world.objects(), start=1):
        assert world.body_label(state.body_name) == k


@pytest.mark.parametrize("side", SIDES)
def test_hand_camera_looks_along_gripper(world, side):
    arm = world.arm(side)
    sign = 1.0 if side == "left" else -1.0
    ok, joints = arm.solve_top_down(0.6, sign * 0.2, -0.0, 0.0)
    assert ok
    arm.command_joint_dict(joints)
    world.step_until(arm.at_target, 4.0)
    frame = world.render_hand_camera(side)
    assert frame.rgb.shape == (180, 320, 3)
    assert frame.rotation[:, 2] @ np.array([0.0, 0.0, -1.0]) > 0.99  # optical axis points down
    centre = frame.depth[90, 160]
    assert centre == pytest.approx(frame.position[2] - world.config.table.top_z, abs=0.01)


def test_head_pan_turns_the_kinect(world):
    before = world.render_head_camera()
    world.command_head_pan(0.3)
    world.step(1.0)
    after = world.render_head_camera()
    assert world.joint_positions()[0] == pytest.approx(0.3, abs=0.01)
    yaw = np.arctan2(after.rotation[1, 2], after.rotation[0, 2])
    assert yaw - np.arctan2(before.rotation[1, 2], before.rotation[0, 2]) == pytest.approx(
        0.3, abs=0.01
    )
    with pytest.raises(ValueError, match="head_pan"):
        world.command_head_pan(2.0)
