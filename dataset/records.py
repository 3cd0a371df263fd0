"""What the trial store holds: the records, and the values each field may take.

The field types carry their constraints (pydantic ``Annotated`` types), so the rules are read next
to the field they govern. Records are plain frozen dataclasses, built freely by the tree and the
bulk collector; the store validates each one before it commits (:func:`check_trial`), and a bad
value is a ``ValueError`` whose message starts with the field's name.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import AfterValidator, BeforeValidator, Field, Strict, TypeAdapter, ValidationError
from typing_extensions import TypedDict

Arm = Literal["left", "right"]
Outcome = Literal["success", "failure", "ik_failed", "aborted"]
ARMS: tuple[str, ...] = get_args(Arm)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
LABELS = ("success", "failure")  # the only outcomes that are training labels
QUATERNION_TOLERANCE = 1e-3
SESSION_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as the Python values they hold, so that strict checks apply."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _unit(q: tuple[float, ...]) -> tuple[float, ...]:
    norm = math.sqrt(sum(x * x for x in q))
    if abs(norm - 1.0) >= QUATERNION_TOLERANCE:
        raise ValueError(f"a unit quaternion (norm {norm:.4g})")
    return q


def _not_infinite(value: float) -> float:
    if math.isinf(value):
        raise ValueError("a finite number or NaN")
    return value


_Plain = BeforeValidator(_plain)
Int = Annotated[int, Strict(), _Plain]  # bool and 2.0 are not integers here
Finite = Annotated[float, Strict(), Field(allow_inf_nan=False), _Plain]
Name = Annotated[str, Strict(), Field(min_length=1)]
Seed = Annotated[Int, Field(ge=0, lt=2**63)]
Position = Annotated[tuple[Finite, Finite, Finite], _Plain]
Quaternion = Annotated[tuple[Finite, Finite, Finite, Finite], _Plain, AfterValidator(_unit)]
Pose = tuple[Position, Quaternion]  # (position xyz, quaternion xyzw)
Count = Annotated[Int, Field(ge=0)]
Roi = Annotated[
    tuple[Count, Count, Annotated[Int, Field(gt=0)], Annotated[Int, Field(gt=0)]], _Plain
]
GripperSample = Annotated[tuple[Finite, Finite, Finite], _Plain]  # t, position, force


@dataclass(frozen=True)
class Trial:
    """One grasp trial. Only ``success`` and ``failure`` outcomes are labels for learning."""

    session_id: Name
    scene_id: Name
    stage: Count
    arm: Arm
    chooser: Name
    outcome: Outcome
    roi: Roi  # x, y, w, h in scene pixels
    grasp_pixel: Annotated[tuple[Finite, Finite], _Plain]  # u (column), v (row)
    angle: Annotated[Finite, Field(ge=0.0, lt=math.pi)]  # rad in [0, pi)
    angle_bin: Count
    grasp_position: Position  # m, robot base frame
    grasp_orientation: Quaternion  # x, y, z, w
    force: Finite  # % of max, after the lift
    gripper_position: Finite  # % open, after the lift
    gripper_history: Annotated[tuple[GripperSample, ...], _Plain] = ()
    timings: Mapping[Annotated[str, Strict()], Finite] = field(default_factory=dict)  # phase -> s
    seed: Seed = 0
    object_id: Annotated[str, Strict()] = ""  # simulator ground truth; "" on the real robot
    message: Annotated[str, Strict()] = ""
    score: Annotated[float, Strict(), _Plain, AfterValidator(_not_infinite)] = math.nan  # NaN: none
    stamp: Finite = 0.0  # s since the epoch, when the trial ended
    trial_id: Int | None = None  # assigned by the store

    @property
    def labelled(self) -> bool:
        return self.outcome in LABELS

    @property
    def success(self) -> bool:
        return self.outcome == "success"


@dataclass(frozen=True)
class Session:
    session_id: str
    robot: str
    config_yaml: str
    seed: int
    notes: str
    started: float
    ended: float | None  # None: still running, or the process died


@dataclass(frozen=True)
class StoredScene:
    """A scene capture as stored: the images the grasp patches are cut from, and the camera."""

    scene_id: str
    session_id: str
    rgb: np.ndarray  # HxWx3 uint8, RGB order
    depth: np.ndarray  # HxW float32, metres
    intrinsics: dict[str, float]  # fx, fy, cx, cy, width, height
    camera_pose: tuple[tuple[float, float, float], tuple[float, float, float, float]]
    stamp: float


@dataclass(frozen=True)
class Tally:
    labelled: int
    successes: int

    @property
    def success_rate(self) -> float:
        return self.successes / self.labelled if self.labelled else math.nan


@dataclass(frozen=True)
class Summary:
    trials: int  # all outcomes
    outcomes: dict[str, int]
    overall: Tally  # over labelled trials
    per_arm: dict[str, Tally]
    per_object: dict[str, Tally]
    per_stage: dict[int, Tally]
    per_session: dict[str, Tally]
    sessions: int
    scenes: int


def new_session_id(now: float | None = None) -> str:
    """Sortable by start time, unique: ``20261125T164025-906f7c``."""
    now = time.time() if now is None else now
    stamp = datetime.fromtimestamp(now, timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


class Intrinsics(TypedDict):
    """Pinhole intrinsics of a scene image, in its pixels."""

    fx: Annotated[Finite, Field(gt=0)]
    fy: Annotated[Finite, Field(gt=0)]
    cx: Finite
    cy: Finite
    width: Finite
    height: Finite


class SessionStart(TypedDict):
    robot: Name
    config_yaml: Annotated[str, Strict()]
    seed: Seed
    session_id: Annotated[str, Strict(), Field(pattern=SESSION_ID.pattern)] | None


_TRIAL = TypeAdapter(Trial)
_SESSION = TypeAdapter(SessionStart)
_INTRINSICS = TypeAdapter(Intrinsics)
_POSITION = TypeAdapter(Position)
_QUATERNION = TypeAdapter(Quaternion)


def _checked(adapter: TypeAdapter, value: Any, name: str = "") -> Any:
    """``adapter``'s validation; its first error as ``ValueError("<field>: <problem> (got ...)")``.

    The field is ``name`` when given, else the failing top-level key (``name.key`` with both).
    """
    try:
        return adapter.validate_python(value)
    except ValidationError as e:
        error = e.errors(include_url=False)[0]
        loc = [str(part) for part in error["loc"]]
        if isinstance(value, Mapping) or adapter is _TRIAL:
            where, detail = ".".join(filter(None, [name, loc[0] if loc else ""])), loc[1:]
        else:
            where, detail = name, loc
        if error["type"] == "value_error":  # our validators raise ValueError("<what it must be>")
            problem = f"expected {error['ctx']['error']}"
        else:
            problem = error["msg"][0].lower() + error["msg"][1:]
        at = f" at [{', '.join(detail)}]" if detail else ""
        raise ValueError(f"{where}: {problem}{at} (got {error.get('input')!r})") from None


def check_trial(record: Any) -> Trial:
    """``record``, validated field by field: a copy that holds plain Python values."""
    if not isinstance(record, Trial):
        raise ValueError(f"record: expected a Trial (got {type(record).__name__})")
    return _checked(_TRIAL, {f.name: getattr(record, f.name) for f in fields(Trial)})


def check_session(robot: Any, config_yaml: Any, seed: Any, session_id: Any) -> SessionStart:
    return _checked(
        _SESSION,
        {"robot": robot, "config_yaml": config_yaml, "seed": seed, "session_id": session_id},
    )


def check_pose(pose: Any, name: str) -> Pose:
    """``(position xyz, quaternion xyzw)``; errors name ``<name> position`` or ``orientation``."""
    if not (isinstance(pose, tuple | list) and len(pose) == 2):
        raise ValueError(f"{name}: expected (position xyz, quaternion xyzw) (got {pose!r})")
    return (
        _checked(_POSITION, pose[0], f"{name} position"),
        _checked(_QUATERNION, pose[1], f"{name} orientation"),
    )


def check_intrinsics(intrinsics: Any, width: int, height: int) -> dict[str, Any]:
    """``intrinsics`` of an image of ``width`` x ``height`` pixels; errors name the key."""
    if not isinstance(intrinsics, Mapping):
        raise ValueError("intrinsics: expected a mapping fx, fy, cx, cy, width, height")
    checked = dict(_checked(_INTRINSICS, dict(intrinsics), "intrinsics"))
    if (checked["width"], checked["height"]) != (width, height):
        raise ValueError(
            f"intrinsics.width: expected the image size {width}x{height} "
            f"(got {checked['width']:g}x{checked['height']:g})"
        )
    checked["width"], checked["height"] = width, height
    return checked
