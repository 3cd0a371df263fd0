"""Eye-to-hand calibration of the head camera: where it is in the robot's base frame.

The arm named by calibration.side holds the ChArUco board of calibration.board (docs/
calibration.md: print, mount) and shows it to the camera from calibration.poses poses by itself;
the camera's pose and the board's mount are solved from the corners seen and the gripper poses,
and written with the residuals of every view to calibration.file, which the camera_pose node
publishes on camera.pose_topic. Without --real, the simulated Baxter is started with the board on
its gripper (simulator.calibration_marker); the difference to the pose it publishes, the true
one, is printed.
"""

from __future__ import annotations

import datetime
import math
import sys
from pathlib import Path

import numpy as np


def add_arguments(parser) -> None:
    parser.add_argument(
        "--real", action="store_true", help="the real Baxter (no simulator is started)"
    )
    parser.add_argument("--poses", type=int, help="views to collect (calibration.poses)")
    parser.add_argument("--out", type=Path, help="result file (calibration.file)")
    parser.add_argument("--seed", type=int, help="draws the candidate poses (calibration.seed)")


def run(args, config) -> int:
    from supersize_grasp.config import ConfigError, overlay
    from supersize_grasp.launcher import exit_on_sigterm

    exit_on_sigterm()
    overrides = {
        key: value
        for key, value in (
            ("calibration.poses", args.poses),
            ("calibration.file", str(args.out) if args.out else None),
            ("calibration.seed", args.seed),
        )
        if value is not None
    }
    if args.poses is not None and args.poses < config.calibration.min_poses:
        overrides["calibration.min_poses"] = args.poses
    try:
        config = overlay(config, overrides, "<command line>") if overrides else config
    except ConfigError as e:
        print(f"supersize-grasp calibrate-camera: {e}", file=sys.stderr)
        return 2
    from supersize_grasp.graph import baxter_ik, sim_graph
    from supersize_grasp.launcher import GraphProcess

    if args.real:  # the arm's IK runs on this side: the SDK's does not cross ros1_bridge
        with GraphProcess([baxter_ik({})], config=config, arguments={"simulated": False}):
            return calibrate(config, truth="the pose on camera.pose_topic before")

    simulated = {
        "simulator.calibration_marker": True,
        "simulator.scene.n_objects": 0,
        "simulator.ros.auto_refill": False,  # an empty table is what it wants
    }
    with GraphProcess(sim_graph(**simulated), config=config):
        return calibrate(config, truth="the simulator's true pose")


def calibrate(config, truth: str) -> int:
    """Collects the views, solves, writes the file, prints the report; 1 with the reason when
    the views cannot give a calibration."""
    from supersize_grasp.calibration import result
    from supersize_grasp.calibration.board import Board, transform
    from supersize_grasp.calibration.session import (
        CalibrationClient,
        RobotTimeoutError,
        collect_views,
    )
    from supersize_grasp.calibration.solver import (
        CalibrationError,
        pose_difference,
        require_usable,
        solve,
    )
    from supersize_grasp.geometry import quaternion_to_matrix

    c = config.calibration
    sdk = CalibrationClient(config)
    try:
        print(f"calibrate-camera: {c.poses} views of the board on the {c.side} gripper")
        collected = collect_views(sdk, config)
        published = sdk.get("camera_pose")
    except (CalibrationError, RobotTimeoutError) as e:
        print(f"calibrate-camera: {e}", file=sys.stderr)
        return 1
    finally:
        sdk.close()
    views = collected.views
    try:
        candidates = len(views) + len(collected.skipped)
        spread = require_usable(views, candidates, c.min_poses, c.min_rotation_spread_deg)
        solution = solve(views, collected.camera.matrix, collected.camera.distortion)
    except CalibrationError as e:
        print(f"calibrate-camera: {e}", file=sys.stderr)
        return 1
    result.save(
        c.file,
        solution,
        frame_id=config.robot.base_frame,
        child_frame_id=collected.camera.frame_id,
        side=c.side,
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        views=collected.described,
        skipped=collected.skipped,
        board=c.board.model_dump(mode="json"),
    )
    print(
        f"{'view':>4} {'candidate':>9} {'corners':>7} {'reproj px':>9} {'AX=ZB mm':>8} {'deg':>6}"
    )
    for k, (described, r) in enumerate(zip(collected.described, solution.residuals, strict=True)):
        print(
            f"{k + 1:>4} {described['candidate']:>9} {r.corners:>7} {r.reprojection_px:>9.3f} "
            f"{r.position_mm:>8.2f} {r.rotation_deg:>6.2f}"
        )
    x = solution.camera_in_base
    print(
        f"{len(views)} views ({len(collected.skipped)} candidates skipped), rotation spread "
        f"{spread:.0f} deg, reprojection RMS {solution.reprojection_rms_px:.3f} px"
    )
    print(f"camera in {config.robot.base_frame}: position {np.round(x[:3, 3], 4).tolist()} m")
    metres, radians = pose_difference(solution.board_in_gripper, Board(c.board).in_gripper())
    print(
        f"board mount: {metres * 1000:.1f} mm, {math.degrees(radians):.2f} deg from "
        "calibration.board's nominal one"
    )
    if published is not None:
        p, q = published.pose.position, published.pose.orientation
        reference = transform(quaternion_to_matrix(q.x, q.y, q.z, q.w), (p.x, p.y, p.z))
        metres, radians = pose_difference(x, reference)
        print(f"difference to {truth}: {metres * 1000:.2f} mm, {math.degrees(radians):.3f} deg")
    print(f"  -> {c.file}")
    return 0
