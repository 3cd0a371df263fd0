"""Start the simulated Baxter alone (headless), so that any ROS 2 client can drive it.

It speaks the Baxter SDK's ROS 2 interface (/robot/..., /ExternalTools/..., /kinect2/hd/...) and
publishes simulation time on /clock. Stop it with Ctrl-C. The same graph as
`ros2 launch supersize_grasp sim.launch.py`.
"""

from supersize_grasp.graph import sim_graph
from supersize_grasp.launcher import GraphProcess


def add_arguments(parser) -> None:
    parser.add_argument("--viewer", action="store_true", help="open MuJoCo's viewer window")
    parser.add_argument("--seed", type=int, help="scene seed (default: simulator.seed)")
    parser.add_argument(
        "--real-time", action="store_true", help="run at wall-clock speed instead of flat out"
    )
    parser.add_argument("--objects", type=int, help="objects on the table (simulator.scene)")


def run(args, config) -> int:
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
