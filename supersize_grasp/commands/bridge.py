"""Write the ros1_bridge parameter_bridge file for the real Baxter from the configuration.

The topics our nodes use on a real robot (names from robot.*_topic for each arm in use and
camera.*_topic), for `rosparam load FILE` before `ros2 run ros1_bridge parameter_bridge`
(docs/ros1_bridge.md). The shipped config/ros1_bridge/parameter_bridge.yaml is this verb's
output with --config config/real_baxter.yaml.

--check-ros1 DIR also pairs each bridged type, and the IK service, with the ROS 1 package DIR
(the SDK's baxter_core_msgs: msg/, srv/) by ros1_bridge's rules: it generates the ROS 1 classes
with Debian's genpy (apt-get install python3-genpy python3-genmsg ros-std-msgs ros-geometry-msgs
ros-sensor-msgs) and reads ours from this installation. Exit 1 when a bridged type does not pair.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("--output", type=Path, help="write the file here (default: stdout)")
    parser.add_argument(
        "--check-ros1",
        metavar="DIR",
        type=Path,
        help="pair the bridged types with this ROS 1 baxter_core_msgs folder as ros1_bridge would",
    )


def run(args, config) -> int:
    from supersize_grasp.bridge import command_line, parameter_bridge_yaml

    configs = [str(c) for c in args.config]
    text = parameter_bridge_yaml(
        config, command_line(configs, str(args.output) if args.output else None)
    )
    if args.check_ros1 is not None:
        return check(config, args.check_ros1)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def check(config, ros1_package: Path) -> int:
    from supersize_grasp.bridge import bridged_topics
    from supersize_grasp.ros1_pairing import (
        Bridge,
        MappingRules,
        Ros1ToolchainError,
        Ros2Catalog,
        generate_ros1,
    )

    try:
        with tempfile.TemporaryDirectory() as out:
            ros1 = generate_ros1({"baxter_core_msgs": ros1_package}, Path(out))
    except Ros1ToolchainError as e:
        print(f"supersize-grasp bridge: {e}", file=sys.stderr)
        return 2
    ros2 = Ros2Catalog()  # the installed interfaces and their mapping rules, as a build reads them
    bridge = Bridge(ros1, ros2, MappingRules.from_packages(ros2.package_folders()))
    failed = 0
    for ros2_type in dict.fromkeys(t.type for t in bridged_topics(config)):
        mapping = bridge.topic_type(ros2_type)
        failed += not mapping.ok
        print(mapping.describe())
        for sub in bridge.reachable(mapping)[1:]:
            if sub.ros1_only or sub.ros2_only or not sub.ok:
                print("  via " + sub.describe().replace("\n", "\n  "))
    print(bridge.service("baxter_core_msgs/srv/SolvePositionIK").describe())
    print("(services are not bridged: IK runs on the ROS 2 side)")
    return 1 if failed else 0
