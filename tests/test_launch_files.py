"""Launch files and the runner start the same node graphs, made of registered entry points.

``launch`` / ``launch_ros`` cannot be installed here, so the launch files are executed against
small stand-ins of those two packages (the only mocks of the suite) that record what they are
given; whether each node then really runs is tested elsewhere through the runner.
"""

import importlib
import importlib.metadata
import os
import runpy
import sys
import types
from pathlib import Path

import pytest

from supersize_grasp.graph import ENVIRONMENT, EXECUTABLES, GRAPHS, PACKAGE, profiles_variable
from supersize_grasp.launcher import node_environment

pytestmark = pytest.mark.ros

LAUNCH_DIR = Path(__file__).resolve().parents[1] / "launch"


class _Recorder:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


@pytest.fixture
def fake_launch(monkeypatch):
    launch = types.ModuleType("launch")
    launch.LaunchDescription = type("LaunchDescription", (_Recorder,), {})
    actions = types.ModuleType("launch.actions")
    actions.DeclareLaunchArgument = type("DeclareLaunchArgument", (_Recorder,), {})
    actions.Shutdown = type("Shutdown", (_Recorder,), {})
    actions.SetEnvironmentVariable = type("SetEnvironmentVariable", (_Recorder,), {})
    conditions = types.ModuleType("launch.conditions")
    conditions.IfCondition = type("IfCondition", (_Recorder,), {})
    conditions.UnlessCondition = type("UnlessCondition", (_Recorder,), {})
    substitutions = types.ModuleType("launch.substitutions")
    substitutions.LaunchConfiguration = type("LaunchConfiguration", (_Recorder,), {})
    substitutions.EnvironmentVariable = type("EnvironmentVariable", (_Recorder,), {})
    launch_ros = types.ModuleType("launch_ros")
    ros_actions = types.ModuleType("launch_ros.actions")
    ros_actions.Node = type("Node", (_Recorder,), {})
    for name, module in {
        "launch": launch,
        "launch.actions": actions,
        "launch.conditions": conditions,
        "launch.substitutions": substitutions,
        "launch_ros": launch_ros,
        "launch_ros.actions": ros_actions,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    return actions, ros_actions.Node, conditions


def console_scripts() -> dict[str, str]:
    entry_points = importlib.metadata.distribution(PACKAGE).entry_points
    return {ep.name: ep.value for ep in entry_points if ep.group == "console_scripts"}


def test_every_executable_is_a_console_script_with_a_main():
    scripts = console_scripts()
    for executable, module in EXECUTABLES.items():
        assert scripts.get(executable) == f"{module}:main", f"{executable} is not registered"
        assert callable(importlib.import_module(module).main)


@pytest.mark.parametrize("path", sorted(LAUNCH_DIR.glob("*.launch.py")), ids=lambda p: p.name)
def test_launch_file_declares_exactly_its_graph(path, fake_launch):
    graph = path.name.removesuffix(".launch.py")
    assert graph in GRAPHS, f"{path.name} has no graph in supersize_grasp.graph.GRAPHS"
    actions, node_action, conditions = fake_launch
    description = runpy.run_path(str(path))["generate_launch_description"]()
    nodes = [a for a in description.args[0] if isinstance(a, node_action)]
    declared = [(n.kwargs["package"], n.kwargs["executable"], n.kwargs["name"]) for n in nodes]
    expected = [(s.package, s.executable, s.name) for s in GRAPHS[graph]()]
    assert declared == expected
    for node, spec in zip(nodes, GRAPHS[graph](), strict=True):
        assert node.kwargs["executable"] in console_scripts()
        assert "config_file" in node.kwargs["parameters"][0]
        condition = node.kwargs["condition"]
        if spec.unless:
            assert isinstance(condition, conditions.UnlessCondition)
            assert condition.args[0].args[0] == spec.unless
        elif spec.condition:
            assert isinstance(condition, conditions.IfCondition)
            assert condition.args[0].args[0] == spec.condition
        else:
            assert condition is None
    # the runner's environment, each variable unless the user's environment sets it
    settings = [a for a in description.args[0] if isinstance(a, actions.SetEnvironmentVariable)]
    environment = {a.args[0]: (a.args[1].args[0], a.args[1].kwargs) for a in settings}
    assert environment == {k: (k, {"default_value": v}) for k, v in ENVIRONMENT.items()}
    assert description.args[0].index(settings[-1]) < description.args[0].index(nodes[0])


def test_the_launch_files_take_a_robot_for_the_namespace_and_its_clock(fake_launch):
    actions, node_action, _ = fake_launch
    """A fleet robot's graph (robot:=baxter_7) runs in /baxter_7 and hears its own simulator's
    clock; without the argument, the root namespace and /clock as ever."""
    launch = LAUNCH_DIR / "collect.launch.py"
    description = runpy.run_path(str(launch))["generate_launch_description"]()
    declared = [a for a in description.args[0] if isinstance(a, actions.DeclareLaunchArgument)]
    assert ("robot", "") in {(a.args[0], a.kwargs["default_value"]) for a in declared}
    nodes = [a for a in description.args[0] if isinstance(a, node_action)]
    assert nodes and all(n.kwargs["namespace"].args[0] == "robot" for n in nodes)
    assert all(n.kwargs["remappings"] == [("/clock", "clock")] for n in nodes)


@pytest.mark.parametrize("graph", ["collect", "clear_table"])
def test_the_real_robot_gets_the_calibrated_camera_pose_the_simulator_its_own(graph):
    """On a real robot nothing else publishes the camera pose: the camera_pose node does, from
    the calibration file; the simulated Baxter publishes its camera's true pose itself."""
    specs = GRAPHS[graph]()
    simulated = {s.name for s in specs if s.starts({"simulated": True})}
    real = {s.name for s in specs if s.starts({"simulated": False})}
    assert "sim_baxter" in simulated and "camera_pose" not in simulated
    assert "camera_pose" in real and "sim_baxter" not in real


@pytest.mark.parametrize("graph", ["collect", "clear_table"])
@pytest.mark.parametrize("policy", ["random", "greedy"])
def test_the_real_robot_gets_ik_on_the_ros2_side_the_simulator_serves_its_own(graph, policy):
    """ros1_bridge cannot bridge the SDK's IK service: on a real robot the baxter_ik node serves
    it, started before the tree that calls it; the simulated Baxter serves it itself."""
    specs = GRAPHS[graph](policy=policy)
    names = [s.name for s in specs]
    simulated = {s.name for s in specs if s.starts({"simulated": True})}
    real = {s.name for s in specs if s.starts({"simulated": False})}
    assert "baxter_ik" in real and "baxter_ik" not in simulated
    assert names.index("baxter_ik") < names.index("trial_tree")


def test_every_graph_has_a_launch_file():
    shipped = {p.name.removesuffix(".launch.py") for p in LAUNCH_DIR.glob("*.launch.py")}
    assert set(GRAPHS) <= shipped


def test_the_runner_gives_nodes_the_graph_environment_unless_the_user_set_it():
    assert all(Path(v).is_file() for v in ENVIRONMENT.values())
    assert node_environment({}).items() >= ENVIRONMENT.items()
    ours = {name: f"/users/{name}.xml" for name in ENVIRONMENT}
    assert node_environment(ours).items() >= ours.items()


def test_the_profile_goes_under_the_name_this_fast_dds_reads(tmp_path):
    """Fast DDS 3 (Kilted) and Fast DDS 2 (Jazzy, Humble) read different variables; the first
    ROS prefix that holds either library's share folder decides, the venv before a sourced ROS."""
    venv, fast_dds_2, fast_dds_3 = (tmp_path / name for name in ("venv", "jazzy", "kilted"))
    (fast_dds_2 / "share" / "fastrtps").mkdir(parents=True)
    (fast_dds_3 / "share" / "fastdds").mkdir(parents=True)
    venv.mkdir()

    def variable(*sourced: Path, prefix: Path = venv) -> str:
        env = {"AMENT_PREFIX_PATH": os.pathsep.join(map(str, sourced))}
        return profiles_variable(env, str(prefix))

    assert variable(fast_dds_2) == "FASTRTPS_DEFAULT_PROFILES_FILE"
    assert variable(fast_dds_3, fast_dds_2) == "FASTDDS_DEFAULT_PROFILES_FILE"
    assert variable(fast_dds_2, prefix=fast_dds_3) == "FASTDDS_DEFAULT_PROFILES_FILE"
    assert variable() == "FASTDDS_DEFAULT_PROFILES_FILE"  # none found: the current name
