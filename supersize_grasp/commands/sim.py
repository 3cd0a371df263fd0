"""Start the simulated Baxter alone (headless), so that any ROS 2 client can drive it.

It speaks the Baxter SDK's ROS 2 interface (/robot/..., /ExternalTools/..., /kinect2/hd/...) and
publishes simulation time on /clock. Stop it with Ctrl-C. The same graph as
`ros2 launch supersize_grasp sim.launch.py`.
"""

from pathlib import Path

from supersize_grasp.graph import sim_graph
from supersize_grasp.launcher import GraphProcess


def add_arguments(parser) -> None:
    parser.add_argument("--viewer", action="store_true", help="open MuJoCo's viewer window")
    parser.add_argument("--seed", type=int, help="scene seed (default: simulator.seed)")
    parser.add_argument(
        "--real-time", action="store_true", help="run at wall-clock speed instead of flat out"
    )
    parser.add_argument("--objects", type=int, help="objects on the table (simulator.scene)")
    parser.add_argument(
        "--save-image",
        type=Path,
        metavar="PNG",
        help="render the head camera's view of the seeded clutter to PNG and exit (no ROS)",
    )
    parser.add_argument(
        "--save-camera-pose",
        type=Path,
        metavar="YAML",
        help="write the head camera's true pose as a calibration file and exit (no ROS): what "
        "the camera_pose node publishes when the real profile runs against the simulator",
    )


def run(args, config) -> int:
    if args.save_image:
        return save_image(args, config)
    if args.save_camera_pose:
        return save_camera_pose(args, config)
    parameters = {}
    if args.viewer:
        parameters["simulator.ros.viewer"] = True
    if args.seed is not None:
        parameters["simulator.seed"] = args.seed
    if args.real_time:
        parameters["simulator.ros.real_time_factor"] = 1.0
    if args.objects is not None:
        parameters["simulator.scene.n_objects"] = args.objects
    with GraphProcess(sim_graph(**parameters), config=config) as graph:
        return graph.wait()


def save_image(args, config) -> int:
    import cv2

    from supersize_grasp.simulator.world import BaxterWorld

    world = BaxterWorld(config.simulator, seed=args.seed)
    try:
        world.reset_scene(n_objects=args.objects, split=config.simulator.ros.split)
        frame = world.render_head_camera()
    finally:
        world.close()
    args.save_image.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.save_image), cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR)):
        print(f"sim: could not write {args.save_image}")
        return 1
    objects = ", ".join(o.object_id for o in world.objects())
    print(f"saved the head camera's view ({frame.rgb.shape[1]}x{frame.rgb.shape[0]}) of: {objects}")
    print(f"  -> {args.save_image}")
    return 0


def save_camera_pose(args, config) -> int:
    from datetime import UTC, datetime

    import mujoco

    from supersize_grasp.calibration.result import save_known_pose
    from supersize_grasp.simulator.camera import optical_pose
    from supersize_grasp.simulator.scene import HEAD_CAMERA, build_model

    model = build_model(config.simulator)
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("home").id)
    mujoco.mj_forward(model, data)
    position, rotation = optical_pose(data, model.camera(HEAD_CAMERA).id)
    save_known_pose(
        args.save_camera_pose,
        position,
        rotation,
        frame_id=config.robot.base_frame,
        writer="supersize-grasp sim --save-camera-pose (the simulator's true pose)",
        date=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    print(f"saved the head camera's true pose at {[round(float(v), 4) for v in position]}")
    print(f"  -> {args.save_camera_pose}")
    return 0
