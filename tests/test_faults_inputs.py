"""Faults: hostile inputs. Malformed images, zero intrinsics, NaN/inf poses and scores, unknown
encodings: the converters name the bad field, the scorer answers success=false with it, the tree's
capture warns and drops the frame (so no trial can come of it) and goes on with the next good one.

Real parts: the grasp_scorer node (in this process, to skip a second torch start-up) and the tree's
CaptureScene, over DDS, fed by a publisher node sending what a broken camera driver might.
"""

import math

import numpy as np
import py_trees
import pytest
import rclpy
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import Image
from supersize_grasp_interfaces.srv import ScoreGrasps

from supersize_grasp.behaviors.learned import check_answer, scene_request
from supersize_grasp.behaviors.perception import CaptureScene
from supersize_grasp.behaviors.scene import Scene, scene_from_messages
from supersize_grasp.behaviors.trial import StartTrial
from supersize_grasp.behaviors.trial_state import key
from supersize_grasp.config import load_config
from supersize_grasp.msgs import camera_model, image_to_depth, image_to_rgb
from supersize_grasp.nodes.grasp_scorer import GraspScorerNode
from tests.fakes import CAMERA, Camera, H, W, checkpoint, colour, depth, info, pose
from tests.tree_runner import TreeRunner

Status = py_trees.common.Status


@pytest.mark.parametrize(
    ("convert", "message", "field"),
    [
        (image_to_rgb, colour(step=W * 3 - 1), "image.step"),
        (image_to_rgb, colour(data=bytes(10)), "image.data holds 10 bytes"),
        (image_to_rgb, colour(width=0, data=b""), "image: empty image"),
        (image_to_rgb, colour(encoding="yuv422"), "image.encoding 'yuv422'"),
        (image_to_depth, depth(encoding="rgb8"), "depth.encoding 'rgb8'"),
        (image_to_depth, depth(height=0), "depth: empty image"),
    ],
)
def test_bad_images_are_named(convert, message, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.").replace("'", "'")):
        convert(message)


def test_bad_cameras_and_poses_are_named():
    for bad, field in [
        (info(fx=0.0), "camera_info.k: focal lengths fx 0.0"),
        (info(width=0), "camera_info: empty image size"),
        (info(fx=math.nan), "camera_info.k is not finite"),
    ]:
        with pytest.raises(ValueError, match=field.replace(".", r"\.")):
            camera_model(bad, pose())
    with pytest.raises(ValueError, match="camera_pose is not finite"):
        camera_model(info(), pose(x=math.inf))
    with pytest.raises(ValueError, match="camera_pose is not finite"):
        camera_model(info(), pose(qw=math.nan))
    with pytest.raises(ValueError, match=r"camera_pose\.orientation is not a unit quaternion"):
        camera_model(info(), pose(qw=2.0))
    with pytest.raises(ValueError, match=r"camera_depth is 32x48 but camera_info says 64x48"):
        scene_from_messages(colour(), depth(width=32), info(), pose(), 0.0)
    scene = scene_from_messages(colour(encoding="bgr8"), depth(), info(), pose(), 1.0)
    assert scene.rgb.shape == (H, W, 3) and scene.depth.shape == (H, W)
    outside = info()
    outside.roi.x_offset, outside.roi.width, outside.roi.height = 40, 32, 16
    with pytest.raises(ValueError, match=r"camera_info\.roi \(40, 0, 32x16\) does not fit"):
        camera_model(outside, pose())


def test_a_crop_is_read_as_ros_crops_are():
    """The HD stream's CameraInfo keeps the full image's size and intrinsics with the crop as
    its roi (image_geometry's rule); the model is the crop's, binning included."""
    cropped = info()
    cropped.roi.x_offset, cropped.roi.y_offset, cropped.roi.width, cropped.roi.height = 8, 4, 32, 20
    camera = camera_model(cropped, pose())
    assert (camera.fx, camera.cx, camera.cy, camera.width, camera.height) == (50, 24, 20, 32, 20)
    scene = scene_from_messages(
        colour(width=32, height=20), depth(width=32, height=20), cropped, pose(), 0.0
    )
    assert scene.rgb.shape == (20, 32, 3)
    with pytest.raises(ValueError, match=r"camera_image is 64x48 but camera_info says 32x20"):
        scene_from_messages(colour(), depth(), cropped, pose(), 0.0)
    cropped.binning_x = cropped.binning_y = 2
    camera = camera_model(cropped, pose())
    assert (camera.fx, camera.fy, camera.cx, camera.cy) == (25, 25, 12, 10)
    assert (camera.width, camera.height) == (16, 10)


def test_bad_scorer_answers_are_named():
    answer = ScoreGrasps.Response(success=True, num_angle_bins=2)
    answer.candidate_u, answer.candidate_v, answer.scores = [1.0], [2.0], [0.5, math.nan]
    with pytest.raises(ValueError, match="not probabilities"):
        check_answer(answer, 1)
    answer.scores = [0.5, 0.25]
    with pytest.raises(ValueError, match="for 2 candidates asked"):
        check_answer(answer, 2)
    answer.candidate_u = [math.inf]
    with pytest.raises(ValueError, match="not finite"):
        check_answer(answer, 1)
    answer.candidate_u = [1.0]
    assert check_answer(answer, 1).shape == (1, 2)


def hostile_requests() -> dict[str, ScoreGrasps.Request]:
    rgb = np.full((CAMERA.height, CAMERA.width, 3), 200, np.uint8)
    scene = Scene(rgb, np.zeros(rgb.shape[:2], np.float32), CAMERA, 0.0)

    def request(**changes):
        r = scene_request(scene)
        r.candidate_u, r.candidate_v = [300.0, 320.0], [170.0, 180.0]
        for path, value in changes.items():
            target, name = r, path.split("__")
            for part in name[:-1]:
                target = getattr(target, part)
            setattr(target, name[-1], value)
        return r

    return {
        "image.encoding 'yuv422'": request(image__encoding="yuv422"),
        "image.step": request(image__step=5),
        "image.data holds 0 bytes": request(image__data=b""),
        "camera_info: empty image size": request(camera_info__width=0),
        "camera_info.k: focal lengths fx 0.0": request(
            camera_info__k=[0.0, 0.0, 319.5, 0.0, 355.0, 179.5, 0.0, 0.0, 1.0]
        ),
        "camera_pose is not finite": request(camera_pose__position__x=math.nan),
        "camera_pose.orientation is not a unit": request(camera_pose__orientation__w=2.0),
        "candidate_u/candidate_v hold values that are not finite": request(
            candidate_u=[math.nan, 300.0]
        ),
        "": request(),  # good data again: answered
    }


def test_the_scorer_refuses_hostile_requests_and_goes_on(tmp_path):
    model = checkpoint(tmp_path / "model.pt", load_config())
    rclpy.init(args=["--ros-args", "-p", f"checkpoint:={model}"])
    scorer = GraspScorerNode()
    client_node = Node("hostile_client")
    client = client_node.create_client(ScoreGrasps, "/grasp_scorer/score")
    executor = MultiThreadedExecutor()
    executor.add_node(scorer)
    executor.add_node(client_node)
    try:
        assert client.wait_for_service(timeout_sec=30.0)
        for field, request in hostile_requests().items():
            future = client.call_async(request)
            executor.spin_until_future_complete(future, timeout_sec=60.0)
            answer = future.result()
            assert answer is not None, f"no answer to the request with a bad {field}"
            assert answer.success == (field == ""), (field, answer.message)
            assert field in answer.message
    finally:
        executor.shutdown()
        scorer.destroy_node()
        client_node.destroy_node()
        rclpy.shutdown()


def test_the_capture_drops_bad_frames_and_takes_the_next_good_one(capfd):
    config = load_config(overrides={"camera.capture_timeout": 120.0})
    py_trees.blackboard.Blackboard.clear()
    capture = CaptureScene("left", config)
    root = py_trees.composites.Sequence(
        "Trial", memory=True, children=[StartTrial("left", config), capture]
    )
    runner = TreeRunner(root)
    camera = Camera(runner.node, config)
    reader = py_trees.blackboard.Client(name="test reader")
    reader.register_key(key("left", "scene"), access=py_trees.common.Access.READ)
    bad_frames = {
        "camera_image.step": (colour(step=10), depth(), info(), pose()),
        "camera_image.encoding 'mono8'": (colour(encoding="mono8"), depth(), info(), pose()),
        "camera_depth.data holds 0 bytes": (
            colour(),
            Image(**_fields(depth(), data=b"")),
            info(),
            pose(),
        ),
        "camera_info.k: focal lengths fx 0.0": (colour(), depth(), info(fx=0.0), pose()),
        "camera_info: empty image size": (colour(), depth(), info(width=0), pose()),
        "camera_pose is not finite": (colour(), depth(), info(), pose(x=math.nan)),
    }
    try:
        for field, frame in bad_frames.items():

            def seen(field=field, frame=frame) -> bool:
                camera.send(*frame)
                return runner.shown(capture.name, Status.RUNNING, f"bad camera frame: {field}")

            runner.wait_for(seen, 30, f"no warning for a bad {field}")
            assert not reader.exists(key("left", "scene"))
        assert "bad camera frame: camera_image.step" in capfd.readouterr().err

        def good() -> bool:
            camera.send(colour(), depth(), info(), pose())
            return root.status == Status.SUCCESS

        runner.wait_for(good, 30, "the good frame was not taken")
        scene = reader.get(key("left", "scene"))
        assert scene.rgb.shape == (H, W, 3) and scene.camera.fx == 50.0
    finally:
        runner.close()


def _fields(msg: Image, **changes) -> dict:
    fields = {f: getattr(msg, f) for f in ("width", "height", "encoding", "step", "data")}
    return {**fields, **changes}
