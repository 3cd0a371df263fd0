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


def run(args, config) -> int:
    if args.save_image:
        return save_image(args, config)
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
