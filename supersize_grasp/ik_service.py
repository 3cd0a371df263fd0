"""The SDK's IK service (``SolvePositionIK``) read and answered once, for every node serving it.

The simulated Baxter and the real robot's IK node (``nodes/baxter_ik.py``) both take a request
apart with :func:`ik_targets`, solve each target their way and write the response with
:func:`ik_response`: the same seeds, refusals and ``result_type`` whichever answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from baxter_core_msgs.srv import SolvePositionIK
from sensor_msgs.msg import JointState


@dataclass(frozen=True)
class IKTarget:
    """One requested endpoint pose in the base frame; ``seed`` from the request's seed_angles."""

    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float]  # x, y, z, w
    seed: dict[str, float] | None


@dataclass(frozen=True)
class IKAnswer:
    valid: bool
    joints: dict[str, float]
    error: str = ""  # why the solver refused the target (not finite, zero quaternion)


def ik_targets(request, base_frame: str) -> tuple[list[IKTarget | None], list[str]]:
    """The request's poses as targets (``None``: refused) and the problems found.

    Pose ``i`` is seeded with ``seed_angles[i]`` (the last one for the rest; a malformed one
    keeps the previous seed) unless ``seed_mode`` is ``SEED_CURRENT``; a pose in another frame
    than ``base_frame`` (or none) is refused.
    """
    seeds: dict[str, float] = {}
    targets: list[IKTarget | None] = []
    problems: list[str] = []
    for i, pose_stamped in enumerate(request.pose_stamp):
        if request.seed_mode != request.SEED_CURRENT and request.seed_angles:
            s = request.seed_angles[min(i, len(request.seed_angles) - 1)]
            if len(s.name) == len(s.position):
                seeds = dict(zip(s.name, s.position, strict=True))
            else:
                problems.append("seed names and positions differ")
        p, q = pose_stamped.pose.position, pose_stamped.pose.orientation
        frame = pose_stamped.header.frame_id
        if frame not in ("", base_frame):
            problems.append(f"frame {frame!r} is not {base_frame!r}")
            targets.append(None)
        else:
            targets.append(IKTarget((p.x, p.y, p.z), (q.x, q.y, q.z, q.w), dict(seeds) or None))
    return targets, problems


def solve_target(
    solve: Callable[[IKTarget], tuple[bool, dict[str, float]]], target: IKTarget | None
) -> IKAnswer:
    """``solve(target)``, with a refused target or a solver's ``ValueError`` as an invalid one."""
    if target is None:
        return IKAnswer(False, {})
    try:
        return IKAnswer(*solve(target))
    except ValueError as e:
        return IKAnswer(False, {}, str(e))


def ik_response(
    response, targets: Sequence[IKTarget | None], answers: Sequence[IKAnswer]
) -> SolvePositionIK.Response:
    """One ``joints``/``is_valid``/``result_type`` entry per target: the seed that solved a valid
    pose (``SEED_USER`` when the request gave one, else ``SEED_CURRENT``), ``RESULT_INVALID``
    with empty joints otherwise."""
    request = SolvePositionIK.Request
    for target, answer in zip(targets, answers, strict=True):
        valid = answer.valid
        response.joints.append(
            JointState(
                name=list(answer.joints) if valid else [],
                position=list(answer.joints.values()) if valid else [],
            )
        )
        response.is_valid.append(bool(valid))
        seeded = target is not None and target.seed is not None
        response.result_type.append(
            (request.SEED_USER if seeded else request.SEED_CURRENT)
            if valid
            else SolvePositionIK.Response.RESULT_INVALID
        )
    return response
