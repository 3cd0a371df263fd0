"""A fleet on one ROS domain: each robot's graph in its own namespace, named after the robot.

The Baxter SDK's names are absolute (``/robot/state``); the real Baxter behind ros1_bridge and a
single robot keep them exactly. A robot of a fleet runs its graph in the namespace ``/<robot>``,
and every absolute name of the SDK, of the configuration and of our nodes moves under it:
``/robot/state`` of ``baxter_0`` is ``/baxter_0/robot/state``, its tree's snapshots are
``/baxter_0/trial_tree/snapshots``, its simulator's clock ``/baxter_0/clock``. A robot on another
machine joins by running its graph with its own name on the same ``ROS_DOMAIN_ID``.

No ROS imports here: the runner, the verbs and the nodes all use these names.
"""

from __future__ import annotations

import re
from typing import Any

ROBOT_PREFIX = "baxter"
ROBOT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
SPOOL_TOPIC = "/spool/trials"
INGESTED_TOPIC = "/spool/ingested"
ROBOT_SEED_STRIDE = 1000
"""Robot i of a fleet collects with seed + i * stride: every robot its own scenes and grasps."""


def robot_names(count: int) -> list[str]:
    """The simulated fleet's robots: ``baxter_0`` ... ``baxter_<count - 1>``."""
    return [f"{ROBOT_PREFIX}_{i}" for i in range(count)]


def robot_namespace(robot: str) -> str:
    """The namespace of ``robot``'s graph: ``/<robot>``; ``/`` for "" (a single robot).

    Raises:
        ValueError: ``robot`` is not a ROS name token (letters, digits, '_', a letter first).
    """
    if not robot:
        return "/"
    if not ROBOT_NAME.fullmatch(robot):
        raise ValueError(
            f"robot: expected a name of letters, digits and '_' starting with a letter "
            f"(got {robot!r})"
        )
    return f"/{robot}"


def namespaced(name: str, namespace: str) -> str:
    """An absolute ``name`` under ``namespace`` (unchanged in ``/``); other names unchanged."""
    if namespace in ("", "/") or not name.startswith("/"):
        return name
    return namespace.rstrip("/") + name


def namespaced_names(flat: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The overrides that move a flattened configuration's absolute names under ``namespace``:
    every ``*_topic`` and ``*_service``, and the recorder's topics (``/name[:type]``)."""
    if namespace in ("", "/"):
        return {}
    overrides: dict[str, Any] = {}
    for key, value in flat.items():
        leaf = key.rsplit(".", 1)[-1]
        if isinstance(value, str) and leaf.endswith(("_topic", "_service")):
            if value.startswith("/"):
                overrides[key] = namespaced(value, namespace)
        elif key == "storage.recorder.topics":
            overrides[key] = [namespaced(topic, namespace) for topic in value]
    return overrides
