"""The autonomous collection tree: both arms run trials at once, each on its half of the table.

Root (parallel): topics to the blackboard every tick, and the tasks. The tasks run only while the
robot is enabled and not E-stopped (an eternal guard); otherwise the tree enables the robot or
waits for a person to release the E-stop, then starts the arms again with fresh trials.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import py_trees
from baxter_core_msgs.msg import AssemblyState, EndEffectorState
from sensor_msgs.msg import JointState

from supersize_grasp.config import Config

from .decorators import RepeatUntil
from .robot import JOINTS_KEY, STATE_KEY, EnableRobot, RobotLink, gripper_key, robot_ready
from .ros.subscribers import ToBlackboard
from .trial import trial_subtree
from .trial_log import GripperHistory, TrialLog


def topics_to_blackboard(config: Config, sides: list[str]) -> py_trees.behaviour.Behaviour:
    robot = config.robot
    children: list[py_trees.behaviour.Behaviour] = [
        ToBlackboard("Robot state", robot.state_topic, AssemblyState, STATE_KEY),
        ToBlackboard("Joint states", robot.joint_states_topic, JointState, JOINTS_KEY),
    ]
    watched = {STATE_KEY: robot.state_topic, JOINTS_KEY: robot.joint_states_topic}
    for side in sides:
        topic = robot.topic(robot.gripper_state_topic, side)
        children.append(ToBlackboard(f"Gripper {side}", topic, EndEffectorState, gripper_key(side)))
        children.append(GripperHistory(side, config))
        watched[gripper_key(side)] = topic
    children.append(RobotLink(robot, watched))
    return py_trees.composites.Parallel(
        "Topics2BB",
        policy=py_trees.common.ParallelPolicy.SuccessOnAll(synchronise=False),
        children=children,
    )


def collection_tree(
    config: Config,
    log: TrialLog,
    chooser: Callable[[str, Config], py_trees.behaviour.Behaviour] | None = None,
    chooser_name: str = "random",
    seed: int = 0,
) -> py_trees.behaviour.Behaviour:
    """Both (enabled) arms collect until ``log`` has its quota of labelled trials."""
    sides = config.arms.active()
    arms = each_arm_repeats(
        "Collect", config, log, chooser, chooser_name, seed, lambda side: log.done
    )
    guarded = py_trees.decorators.EternalGuard(
        "Robot ready?",
        arms,
        condition=lambda blackboard: (
            blackboard.exists(STATE_KEY) and robot_ready(blackboard.get(STATE_KEY))
        ),
        blackboard_keys=[STATE_KEY],
    )
    tasks = py_trees.composites.Selector(
        "Tasks",
        memory=False,
        children=[
            guarded,
            py_trees.decorators.SuccessIsRunning("Keep enabled", EnableRobot(config.robot)),
        ],
    )
    return with_robot_topics("Collect", config, sides, tasks)


def each_arm_repeats(
    name: str,
    config: Config,
    log: TrialLog,
    chooser: Callable[[str, Config], py_trees.behaviour.Behaviour] | None,
    chooser_name: str,
    seed: int,
    until: Callable[[str], Callable[[], bool]],
    **subtree: Any,
) -> py_trees.behaviour.Behaviour:
    """Every enabled arm runs its trial subtree again and again, at once, until ``until(side)()``
    holds between two of its trials; ``subtree`` goes to ``trial_subtree``."""
    return py_trees.composites.Parallel(
        "Arms",
        policy=py_trees.common.ParallelPolicy.SuccessOnAll(synchronise=True),
        children=[
            RepeatUntil(
                f"{name} {side}",
                trial_subtree(side, config, log, chooser, chooser_name, seed + 1000 * i, **subtree),
                until(side),
            )
            for i, side in enumerate(config.arms.active())
        ],
    )


def with_robot_topics(
    name: str, config: Config, sides: list[str], task: py_trees.behaviour.Behaviour
) -> py_trees.behaviour.Behaviour:
    """A root that refreshes the robot's topics on the blackboard every tick beside ``task``,
    and succeeds when ``task`` does: the base of every tree made of our behaviours."""
    return py_trees.composites.Parallel(
        name,
        policy=py_trees.common.ParallelPolicy.SuccessOnSelected([task], synchronise=False),
        children=[topics_to_blackboard(config, sides), task],
    )
