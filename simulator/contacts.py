"""Ground truth from contacts: which object a gripper holds (simulator only, never a label)."""

from __future__ import annotations

import mujoco

from .scene import OBJECT_PREFIX, finger_bodies


def held_object(world, side: str) -> str:
    """Object id touched by both fingers of ``side``'s gripper, or "" when none is."""
    model, data = world.model, world.data
    fingers = {name: model.body(name).id for name in finger_bodies(side)}
    left = {i for n, i in fingers.items() if "_l_finger" in n}
    right = {i for n, i in fingers.items() if "_r_finger" in n}
    touching: dict[int, set[str]] = {}
    for contact in data.contact[: data.ncon]:
        b1, b2 = model.geom_bodyid[contact.geom1], model.geom_bodyid[contact.geom2]
        for finger, other in ((b1, b2), (b2, b1)):
            if finger in left or finger in right:
                root = model.body_rootid[other]
                name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, root) or ""
                if name.startswith(OBJECT_PREFIX):
                    touching.setdefault(root, set()).add("l" if finger in left else "r")
    for body, sides in touching.items():
        if sides == {"l", "r"}:
            name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, body)
            for obj in world.objects():
                if obj.body_name == name:
                    return obj.object_id
    return ""


TRIAL_OBJECT_RADIUS = 0.10  # m: farther from the gripper's line, no object is what a trial tried


def trial_object(world, side: str) -> str:
    """The object a trial of ``side``'s gripper was about (ground truth, never a label): the one
    both fingers hold, else the object whose centre is nearest the commanded endpoint's vertical
    line within ``TRIAL_OBJECT_RADIUS`` (read after the lift, that line runs through the grasp
    point however closely the arm followed it), else ""."""
    held = held_object(world, side)
    if held:
        return held
    arm = world.arm(side)
    xy = arm.forward_kinematics(arm.target_positions()).position[:2]
    best, nearest = "", TRIAL_OBJECT_RADIUS
    for obj in world.objects():
        distance = float(((obj.pose.position[:2] - xy) ** 2).sum() ** 0.5)
        if distance < nearest:
            best, nearest = obj.object_id, distance
    return best
