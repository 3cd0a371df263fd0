"""The ROS 1 side, with the ROS 1 toolchain: the Baxter SDK's own message package (1.2.0, in
tests/data/baxter_core_msgs_ros1) generated with Debian's genpy, paired with our ROS 2 types by
ros1_bridge's rules (supersize_grasp/ros1_pairing.py). Every type of
config/ros1_bridge/parameter_bridge.yaml pairs; SolvePositionIK does not, which is why IK stays
on the ROS 2 side. scripts/setup.sh installs the toolchain (apt); without it these tests fail,
they never skip.
"""

import shutil
from pathlib import Path

import pytest
import yaml

from supersize_grasp.bridge import SHIPPED
from supersize_grasp.ros1_pairing import (
    Bridge,
    Interface,
    MappingRules,
    Ros1Catalog,
    Ros1ToolchainError,
    Ros2Catalog,
    generate_ros1,
    parse_ros2_messages,
    ros2_type_to_msg,
)

ROOT = Path(__file__).resolve().parent.parent
SDK = ROOT / "tests" / "data" / "baxter_core_msgs_ros1"
OURS = ROOT / "interfaces" / "baxter_core_msgs"
JOINT_COMMAND_MD5 = "19bfec8434dd568ab3c633d187c36f2e"  # the SDK's, as ROS 1 computes it


@pytest.fixture(scope="module")
def ros1(tmp_path_factory) -> Ros1Catalog:
    try:
        return generate_ros1({"baxter_core_msgs": SDK}, tmp_path_factory.mktemp("ros1"))
    except Ros1ToolchainError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="module")
def rules() -> MappingRules:
    return MappingRules.from_packages([OURS])


@pytest.fixture(scope="module")
def bridge(ros1, rules) -> Bridge:
    return Bridge(ros1, Ros2Catalog(), rules)


def bridged_types() -> list[str]:
    topics = yaml.safe_load(SHIPPED.read_text())["topics"]
    return sorted({entry["type"] for entry in topics})


def test_genpy_generates_the_sdk_as_ros1_knows_it(ros1):
    command = ros1.messages["baxter_core_msgs/JointCommand"]
    assert command.md5sum == JOINT_COMMAND_MD5
    assert command.fields == (("mode", "int32"), ("command", "float64[]"), ("names", "string[]"))
    assert dict(ros1.messages["baxter_core_msgs/EndEffectorState"].fields)["timestamp"] == "time"
    assert len([n for n in ros1.messages if n.startswith("baxter_core_msgs/")]) == 25
    ik = ros1.services["baxter_core_msgs/SolvePositionIK"]
    assert [n for n, _ in ik.response.fields] == ["joints", "isValid", "result_type"]


@pytest.mark.parametrize("ros2_type", bridged_types())
def test_every_bridged_type_pairs(bridge, ros2_type):
    mapping = bridge.topic_type(ros2_type)
    assert mapping.ok, mapping.describe()
    package, _, name = ros2_type.split("/")
    assert mapping.ros1 == f"{package}/{name}", "pairs by the same package and name"
    # Nothing is lost on the way, down to the sub-messages, but ROS 1's Header.seq (ROS 2 has none).
    for sub in bridge.reachable(mapping):
        assert sub.ok, sub.describe()
        assert not sub.ros2_only, sub.describe()
        assert sub.ros1_only == (["seq"] if sub.ros1 == "std_msgs/Header" else []), sub.describe()


def test_the_bridged_types_are_ours_and_the_standard_ones():
    assert bridged_types() == [
        "baxter_core_msgs/msg/AssemblyState",
        "baxter_core_msgs/msg/EndEffectorCommand",
        "baxter_core_msgs/msg/EndEffectorState",
        "baxter_core_msgs/msg/EndpointState",
        "baxter_core_msgs/msg/JointCommand",
        "sensor_msgs/msg/CameraInfo",
        "sensor_msgs/msg/Image",
        "sensor_msgs/msg/JointState",
        "std_msgs/msg/Bool",
    ]


def test_every_message_of_ours_is_the_sdks_field_for_field(bridge):
    for path in sorted((OURS / "msg").glob("*.msg")):
        name = f"baxter_core_msgs/{path.stem}"
        mapping = bridge.mapping(name, name)
        assert mapping.ok, mapping.describe()
        assert mapping.fields == [(n, n) for n, _ in bridge.ros1.messages[name].fields]


def test_ros1_builtins_and_renamed_standard_fields_follow_the_bridge(bridge):
    # EndEffectorState.timestamp: ROS 1 time <-> builtin_interfaces/Time.
    state = bridge.mapping("baxter_core_msgs/EndEffectorState", "baxter_core_msgs/EndEffectorState")
    assert ("timestamp", "timestamp") in state.fields
    # CameraInfo's D, K, R, P pair with d, k, r, p by lower-cased name (fixed arrays of 9 and 12).
    info = bridge.mapping("sensor_msgs/CameraInfo", "sensor_msgs/CameraInfo")
    assert {("D", "d"), ("K", "k"), ("R", "r"), ("P", "p")} <= set(info.fields)


def test_solve_position_ik_does_not_pair_although_the_rule_names_is_valid(bridge, rules):
    ik_rule = next(r for r in rules.services if r.ros2_service == "SolvePositionIK")
    assert ik_rule.response_fields_1_to_2 == {"isValid": "is_valid"}  # parsed, never applied
    pairing = bridge.service("baxter_core_msgs/srv/SolvePositionIK")
    assert not pairing.ok
    assert pairing.ros1 == "baxter_core_msgs/SolvePositionIK"
    assert len(pairing.problems) == 1
    assert "'bool[] isValid' vs ROS 2 'bool[] is_valid'" in pairing.problems[0]


def test_unchanged_msg_text_pairs(ros1, rules):
    """The control of the next test: our .msg files, parsed, pair like the built classes."""
    ros2 = Ros2Catalog(parse_ros2_messages("baxter_core_msgs", OURS / "msg"))
    bridge = Bridge(ros1, ros2, rules)
    for ros2_type in bridged_types():
        assert bridge.topic_type(ros2_type).ok, ros2_type


@pytest.mark.parametrize(
    ("message", "old", "new", "expected"),
    [
        (
            "JointCommand",
            "int32 mode",
            "int32 control_mode",
            "ROS 1 field(s) 'mode' match no ROS 2 member and ROS 2 member(s) 'control_mode' "
            "match no ROS 1 field",
        ),
        (
            "EndEffectorState",
            "float32 position ",
            "float64 position ",
            "field 'position' (float32) -> 'position' (float64): different primitive types",
        ),
        (
            "EndEffectorState",
            "builtin_interfaces/Time timestamp",
            "builtin_interfaces/Duration timestamp",
            "ROS 1 time converts to builtin_interfaces/Time only",
        ),
    ],
)
def test_a_changed_field_of_ours_is_reported(ros1, rules, tmp_path, message, old, new, expected):
    folder = tmp_path / "msg"
    shutil.copytree(OURS / "msg", folder)
    path = folder / f"{message}.msg"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    bridge = Bridge(ros1, Ros2Catalog(parse_ros2_messages("baxter_core_msgs", folder)), rules)
    mapping = bridge.topic_type(f"baxter_core_msgs/msg/{message}")
    print(mapping.describe())
    assert not mapping.ok
    assert any(expected in p for p in mapping.problems), mapping.describe()


@pytest.mark.parametrize(
    ("python", "msg"),
    [
        ("sequence<double>", "float64[]"),
        ("sequence<boolean, 3>", "bool[<=3]"),
        ("double[9]", "float64[9]"),
        ("string<10>", "string<=10"),
        ("sequence<sensor_msgs/JointState>", "sensor_msgs/JointState[]"),
        ("octet", "byte"),
        ("float", "float32"),
    ],
)
def test_python_types_in_msg_notation(python, msg):
    assert ros2_type_to_msg(python) == msg


@pytest.mark.parametrize(
    ("ros2_fields", "problem"),
    [
        ([("d", "float64[]"), ("k", "float64[9]"), ("t", "builtin_interfaces/Time")], None),
        ([("d", "float64[<=5]"), ("k", "float64[9]"), ("t", "builtin_interfaces/Time")], None),
        ([("d", "float64[5]"), ("k", "float64[9]"), ("t", "builtin_interfaces/Time")], "same size"),
        ([("d", "float64[]"), ("k", "float64[]"), ("t", "builtin_interfaces/Time")], "sequence"),
        ([("d", "float64[]"), ("k", "float64[9]"), ("t", "int64")], "converts to"),
        ([("d", "float64[]"), ("k", "float64[9]"), ("stamp", "builtin_interfaces/Time")], "'t'"),
    ],
)
def test_array_and_time_rules(ros2_fields, problem):
    ros1 = Ros1Catalog(
        {
            "demo_msgs/A": Interface(
                "demo_msgs/A",
                (("D", "float64[]"), ("K", "float64[9]"), ("t", "time"), ("seq", "uint32")),
            )
        },
        {},
    )
    ros2 = Ros2Catalog({"demo_msgs/A": Interface("demo_msgs/A", tuple(ros2_fields))})
    mapping = Bridge(ros1, ros2).mapping("demo_msgs/A", "demo_msgs/A")
    if problem is None:
        assert mapping.ok, mapping.describe()
        assert mapping.ros1_only == ["seq"]
    else:
        assert any(problem in p for p in mapping.problems), mapping.describe()
