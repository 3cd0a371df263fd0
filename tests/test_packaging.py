"""The installed package: namespaced imports, interfaces, ament index, entry points."""

import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from supersize_grasp.cli import VERBS

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str) -> subprocess.CompletedProcess:
    """Outside the repository, so the working directory cannot stand in for an install."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd="/", capture_output=True, text=True, timeout=120
    )


def test_subpackages_import_under_the_package_namespace():
    code = (
        "import supersize_grasp.behaviors, supersize_grasp.nodes, supersize_grasp.models, "
        "supersize_grasp.config, supersize_grasp.simulator; print('ok')"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("name", ["behaviors", "nodes", "models", "config", "simulator"])
def test_no_top_level_module_is_installed(name):
    result = run_python(f"import importlib.util as u; print(u.find_spec({name!r}) is None)")
    assert result.stdout.strip() == "True", f"a top-level {name!r} is importable: {result}"


def test_interfaces_import_with_sdk_names():
    from baxter_core_msgs.msg import EndEffectorCommand, EndEffectorState, JointCommand
    from baxter_core_msgs.srv import SolvePositionIK
    from supersize_grasp_interfaces.action import CollectTrials
    from supersize_grasp_interfaces.msg import TreeSnapshot, TrialRecord
    from supersize_grasp_interfaces.srv import ScoreGrasps

    assert JointCommand.POSITION_MODE == 1
    assert EndEffectorCommand.CMD_GRIP == "grip"
    assert EndEffectorState.STATE_UNKNOWN == 2
    assert "is_valid" in SolvePositionIK.Response.get_fields_and_field_types()
    assert "scores" in ScoreGrasps.Response.get_fields_and_field_types()
    assert "last_trial" in CollectTrials.Feedback.get_fields_and_field_types()
    assert TrialRecord.OUTCOME_IK_FAILED == 2
    assert "behaviours" in TreeSnapshot.get_fields_and_field_types()


def test_ros1_bridge_mapping_rules_are_exported_and_installed():
    package = ROOT / "interfaces" / "baxter_core_msgs"
    export = ElementTree.parse(package / "package.xml").getroot().find("export/ros1_bridge")
    assert export is not None and export.get("mapping_rules") == "mapping_rules.yaml"
    rules = yaml.safe_load((package / "mapping_rules.yaml").read_text())
    ik = next(r for r in rules if r.get("ros2_service_name") == "SolvePositionIK")
    assert ik["response_fields_1_to_2"] == {"isValid": "is_valid"}
    installed = Path(sys.prefix, "share", "baxter_core_msgs", "mapping_rules.yaml")
    assert installed.read_text() == (package / "mapping_rules.yaml").read_text()


def test_ament_index_knows_our_packages():
    prefix = Path(sys.prefix)
    index = prefix / "share" / "ament_index" / "resource_index" / "packages"
    for name in ("supersize_grasp", "baxter_core_msgs", "supersize_grasp_interfaces"):
        assert (index / name).exists(), f"{name} missing from the ament index in {prefix}"
    assert (prefix / "share" / "supersize_grasp" / "package.xml").exists()


@pytest.mark.slow
def test_console_script_help_lists_every_verb_and_each_verb_has_help():
    exe = Path(sys.prefix, "bin", "supersize-grasp")
    env = {k: v for k, v in os.environ.items() if not k.startswith("_ROS_WHEELS")}
    top = subprocess.run([exe, "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert top.returncode == 0, top.stderr
    for verb in VERBS:
        assert verb in top.stdout
        sub = subprocess.run([exe, verb, "--help"], capture_output=True, text=True, timeout=60)
        assert sub.returncode == 0, sub.stderr
        assert "--config FILE" in sub.stdout


def test_bad_config_on_the_command_line_exits_2_with_the_reason(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("trial:\n  num_angle_bins: zero\n")
    result = subprocess.run(
        [Path(sys.prefix, "bin", "supersize-grasp"), "config", "--config", bad],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{bad}: trial.num_angle_bins: Input should be a valid integer" in result.stderr


def test_setup_refuses_ros_wheels_it_has_no_requirements_for():
    """A misspelt distribution stops set-up before anything is installed, naming the choices."""
    env = {k: v for k, v in os.environ.items() if k != "ROS_DISTRO"}
    result = subprocess.run(
        [str(ROOT / "scripts" / "setup.sh")],
        env={**env, "ROS_WHEELS": "rolling"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "no requirements/ros-rolling.txt" in result.stderr
    assert "jazzy kilted" in result.stderr
    assert not (ROOT / ".venv-rolling").exists()
