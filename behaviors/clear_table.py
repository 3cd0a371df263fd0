"""Clearing a clutter (the paper, section VI-D), built from the same grasp subtree.

Each arm picks objects from its half of the table with the learned (greedy) chooser, lifts them,
and drops them in a bin beside the table, until its half is empty (but for objects it failed to
pick ``clear_table.give_up_after`` times) or the attempt limit is spent.
An arm's half is all of the table in its reach (``clear_table.reach_<side>``), not the smaller
workspace random trials keep to: grasps push objects about, and one pushed out of the workspace
is still on the table.
Interactions per object = grasp attempts / objects removed, the paper's measure.
"""

from __future__ import annotations

from collections.abc import Callable

import py_trees
from baxter_core_msgs.msg import EndEffectorCommand

from supersize_grasp.config import Config
from supersize_grasp.geometry import top_down_quaternion

from .collection import each_arm_repeats, with_robot_topics
from .grasp_policy import FailedGrasps
from .robot import EnableRobot, SolveIK, Status
from .trial import gripper, motion
from .trial_log import TrialLog
from .trial_plan import Motion
from .trial_state import TrialBehaviour, key


class PlanDrop(SolveIK):
    """IK to this arm's bin position (``clear_table.bin_<side>``)."""

    def __init__(self, side: str, config: Config) -> None:
        self.position = getattr(config.clear_table, f"bin_{side}")
        super().__init__(
            "Plan drop",
            side,
            config.robot,
            lambda: {"above": [(self.position, top_down_quaternion(0.0))]},
            key(side, "drop"),
            ("above",),
            timeout=config.trial.motion_timeout,
        )

    def describe(self) -> str:
        return f"drop over the {self.side} bin (clear_table.bin_{self.side})"


def drop_in_bin(side: str, config: Config) -> py_trees.behaviour.Behaviour:
    """``when_held`` of the trial subtree: carry the object over the bin and let go."""
    return py_trees.composites.Sequence(
        "Drop in bin",
        memory=True,
        children=[
            PlanDrop(side, config),
            motion(
                side, config, "drop/above", Motion("Over the bin", 2 * config.trial.joint_tolerance)
            ),
            gripper(side, config, EndEffectorCommand.CMD_RELEASE, "Drop"),
        ],
    )


class SideCleared(TrialBehaviour):
    """``when_empty`` of the trial subtree: this arm's half is clear, so its work is done."""

    def __init__(self, side: str, config: Config, cleared: dict[str, bool]) -> None:
        super().__init__("Half cleared", side, config)
        self.cleared = cleared

    def update(self) -> Status:
        self.cleared[self.side] = True
        self.feedback_message = f"no object left in the {self.side} arm's reach"
        return Status.FAILURE


class RememberMiss(TrialBehaviour):
    """``when_missed`` of the trial subtree: the grasp that failed is not tried again."""

    def __init__(self, side: str, config: Config, failed: FailedGrasps) -> None:
        super().__init__("Remember miss", side, config, read=[key(side, "grasp")])
        self.failed = failed

    def update(self) -> Status:
        grasp = self.read(key(self.side, "grasp"))
        self.failed.add(grasp.x, grasp.y, grasp.theta, grasp.roi)
        self.feedback_message = f"{len(self.failed.grasps)} failed grasps ruled out"
        return Status.SUCCESS


def with_clearing_reach(config: Config) -> Config:
    """``config`` with each arm's workspace widened to the table it clears."""
    arms = {
        side: getattr(config.arms, side).model_copy(
            update={"workspace": getattr(config.clear_table, f"reach_{side}")}
        )
        for side in ("left", "right")
    }
    return config.model_copy(update={"arms": config.arms.model_copy(update=arms)})


def clear_table_tree(
    config: Config,
    log: TrialLog,
    chooser: Callable[[str, Config], py_trees.behaviour.Behaviour] | None,
    chooser_name: str,
    seed: int = 0,
    failed: FailedGrasps | None = None,
) -> tuple[py_trees.behaviour.Behaviour, dict[str, bool]]:
    """The clutter-removal tree and the per-arm ``cleared`` flags it sets.

    ``log``'s quota is the attempt limit; the tree succeeds when every arm's half is clear or
    the limit is reached. Missed grasps go to ``failed``, which the learned ``chooser`` was
    given (``learned_chooser(..., failed)``), so that none is tried twice, and a region that
    holds ``clear_table.give_up_after`` of them is left alone: with only such regions left, an
    arm's half counts as cleared.
    """
    config = with_clearing_reach(config)
    sides = config.arms.active()
    cleared = dict.fromkeys(sides, False)

    def side_cleared(side: str, cfg: Config) -> SideCleared:
        return SideCleared(side, cfg, cleared)

    arms = each_arm_repeats(
        "Clear half",
        config,
        log,
        chooser,
        chooser_name,
        seed,
        lambda side: lambda: cleared[side] or log.done(),
        when_held=drop_in_bin,
        when_empty=side_cleared,
        when_missed=None if failed is None else lambda side, cfg: RememberMiss(side, cfg, failed),
        leave_region=None if failed is None else failed.gives_up,
    )
    task = py_trees.composites.Sequence(
        "Clear the table", memory=True, children=[EnableRobot(config.robot), arms]
    )
    return with_robot_topics("Clear table", config, sides, task), cleared
