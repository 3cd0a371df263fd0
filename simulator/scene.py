"""Builds the MuJoCo model of Baxter at a table, with cameras and objects, through ``MjSpec``.

The robot comes from ``assets/baxter/baxter_kinematic.urdf`` (real joint axes, offsets, limits);
this module adds what the URDF cannot say: slot-3 paddle fingers, position actuators, gravity
compensation (Baxter compensates gravity in firmware), contact settings, table, lights, cameras,
objects and the ``home`` keyframe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import mujoco
import numpy as np

from ..config.simulator import SimulatorConfig
from .camera import crop_sensor

ASSETS = Path(__file__).resolve().parent / "assets" / "baxter"
URDF_PATH = ASSETS / "baxter_kinematic.urdf"

SIDES = ("left", "right")
ARM_JOINT_SUFFIXES = ("s0", "s1", "e0", "e1", "w0", "w1", "w2")
HEAD_PAN = "head_pan"
LARGE_JOINT_SUFFIXES = ("s0", "s1", "e0", "e1")
BASE_BODY = "base"
HEAD_BODY = "head"
HEAD_CAMERA = "kinect2"
TABLE_GEOM = "table_top"
OBJECT_PREFIX = "object_"
HEAD_COLLISION_BODIES = ("collision_head_link_1", "collision_head_link_2")
HIDDEN_GROUP = 3  # not drawn by the renderers (MuJoCo shows geom groups 0-2 by default)

# Slot 3 of the electric gripper moves each extended_narrow finger 9.5 mm outwards from slot 2.
SLOT_SHIFT = 0.0095
FINGER_TRAVEL = 0.020833
# Inner gap between the paddle pads: closed 35 mm, open 76.7 mm (see assets README).
CLOSED_GAP = 0.035
PADDLE_SIZE = (0.021, 0.00325, 0.0185)  # half sizes of the 42 x 6.5 x 37 mm pad

# Contact bits: the robot touches the world but not itself (its URDF primitives overlap in ordinary
# poses); world geoms (table, objects) touch everything.
ROBOT_BIT = 1
WORLD_BIT = 2


def arm_joint_names(side: str) -> list[str]:
    """SDK names of one arm's seven joints, shoulder to wrist."""
    return [f"{side}_{suffix}" for suffix in ARM_JOINT_SUFFIXES]


def finger_joint_names(side: str) -> tuple[str, str]:
    """SDK names of the driven and the mimic finger joint of one gripper."""
    prefix = side[0]
    return f"{prefix}_gripper_l_finger_joint", f"{prefix}_gripper_r_finger_joint"


def finger_bodies(side: str) -> list[str]:
    """Bodies whose contacts count as the gripper touching something."""
    prefix = side[0]
    return [f"{prefix}_gripper_{f}_finger{t}" for f in ("l", "r") for t in ("", "_tip")]


def endpoint_body(side: str) -> str:
    """The SDK endpoint: the ``<side>_gripper`` frame at the fingertips."""
    return f"{side}_gripper"


def hand_camera(side: str) -> str:
    """Name of the camera in the ``<side>_hand_camera`` frame."""
    return f"{side}_hand_camera"


def actuator_name(joint: str) -> str:
    """Actuators carry their joint's name with an ``_act`` suffix."""
    return f"{joint}_act"


# Arms raised and folded back beside the torso: nothing of them is in the head camera's view.
HOME_ARM = {"s0": 0.75, "s1": -0.9, "e0": 0.0, "e1": 2.2, "w0": 0.0, "w1": 0.0, "w2": 0.0}


def home_joint_positions() -> dict[str, float]:
    """The ``home`` keyframe as SDK joint names; right arm mirrors the left about x-z."""
    home = {HEAD_PAN: 0.0}
    mirrored = {"s0", "e0", "w0", "w2"}
    for side in SIDES:
        sign = 1.0 if side == "left" else -1.0
        for suffix, value in HOME_ARM.items():
            home[f"{side}_{suffix}"] = sign * value if suffix in mirrored else value
        home[finger_joint_names(side)[0]] = FINGER_TRAVEL
        home[finger_joint_names(side)[1]] = -FINGER_TRAVEL
    return home


class ObjectSource(Protocol):
    """What the scene needs from an object set (primitives or the mesh library)."""

    def add_to_spec(
        self,
        spec: mujoco.MjSpec,
        obj: Any,
        body_name: str,
        pos: tuple[float, float, float],
        quat: tuple[float, float, float, float],
    ) -> mujoco.MjsBody: ...


@dataclass(frozen=True)
class Placement:
    """An object to put in the scene: which one, its body name and initial pose (quat wxyz)."""

    obj: Any
    body_name: str
    pos: tuple[float, float, float]
    quat: tuple[float, float, float, float]


def _look_at_quat(position: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Quaternion (wxyz) of a MuJoCo camera at ``position`` looking at ``target``, image upright."""
    forward = target - position
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    if np.linalg.norm(right) < 1e-6:  # looking straight down: image up is +x (away from robot)
        right = np.cross(forward, [1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    rot = np.column_stack([right, up, -forward])  # MuJoCo cameras look along their -z
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, rot.flatten())
    return quat


def _configure_robot(spec: mujoco.MjSpec, config: SimulatorConfig) -> None:
    """Slot-3 paddle fingers, gravity compensation, contact bits and gripper friction."""
    grip = config.gripper
    for body in spec.bodies:
        if body.name == "world":
            continue
        body.gravcomp = 1.0
    for side in SIDES:
        prefix = side[0]
        left_finger = spec.body(f"{prefix}_gripper_l_finger")
        right_finger = spec.body(f"{prefix}_gripper_r_finger")
        left_finger.pos = [left_finger.pos[0], left_finger.pos[1] + SLOT_SHIFT, left_finger.pos[2]]
        right_finger.pos = [
            right_finger.pos[0],
            right_finger.pos[1] - SLOT_SHIFT,
            right_finger.pos[2],
        ]
        for finger, sign in (("l", -1.0), ("r", 1.0)):
            tip = spec.body(f"{prefix}_gripper_{finger}_finger_tip")
            for geom in list(tip.geoms):
                spec.delete(geom)
            # Both grippers get the paddle tips (the right arm's URDF has half-round tips).
            tip.add_geom(
                name=f"{prefix}_gripper_{finger}_paddle",
                type=mujoco.mjtGeom.mjGEOM_BOX,
                size=list(PADDLE_SIZE),
                pos=[0.0, sign * 0.0045, -0.015],
                friction=[grip.friction, 0.02, 0.002],
                condim=4,
                solref=[0.004, 1.0],
                solimp=[0.95, 0.99, 0.001, 0.5, 2.0],
                rgba=[0.2, 0.2, 0.2, 1.0],
            )
    for geom in spec.geoms:
        geom.contype = ROBOT_BIT
        geom.conaffinity = WORLD_BIT
        if not geom.name.endswith("_paddle"):
            geom.rgba = [0.55, 0.1, 0.1, 1.0]  # Baxter red
    for name in HEAD_COLLISION_BODIES:
        # Conservative collision proxies around the head: hidden so the Kinect sees past them.
        for geom in spec.body(name).geoms:
            geom.group = HIDDEN_GROUP


def _add_actuators(spec: mujoco.MjSpec, config: SimulatorConfig) -> None:
    """Named position actuators: arm joints (two gain classes), head pan, one per gripper."""
    arm = config.arm
    for side in SIDES:
        for name in arm_joint_names(side):
            joint = spec.joint(name)
            large = name.split("_", 1)[1] in LARGE_JOINT_SUFFIXES
            kp, kv = (arm.shoulder_kp, arm.shoulder_kv) if large else (arm.wrist_kp, arm.wrist_kv)
            joint.armature = arm.armature
            effort = 50.0 if large else 15.0
            act = spec.add_actuator(name=actuator_name(name), target=name)
            act.trntype = mujoco.mjtTrn.mjTRN_JOINT
            act.set_to_position(kp=kp, kv=kv)
            act.ctrlrange = list(joint.range)
            act.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
            # The URDF's effort limits are for the real motors, which also carry the arm's
            # weight; here gravity is compensated separately, so a 3x margin stays realistic.
            act.forcerange = [-3.0 * effort, 3.0 * effort]
            act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
        driven, mimic = finger_joint_names(side)
        for finger in (driven, mimic):
            spec.joint(finger).armature = 0.01
            spec.joint(finger).damping = [2.0, 0.0, 0.0]
        act = spec.add_actuator(name=actuator_name(driven), target=driven)
        act.trntype = mujoco.mjtTrn.mjTRN_JOINT
        act.set_to_position(kp=config.gripper.stiffness, kv=config.gripper.damping)
        act.ctrlrange = [0.0, FINGER_TRAVEL]
        act.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
        act.forcerange = [-config.gripper.max_force, config.gripper.max_force]
        act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
    for equality in spec.equalities:
        # The mimic finger must follow the driven one under grip force, not lag by millimetres.
        equality.solref = [0.004, 1.0]
    head = spec.joint(HEAD_PAN)
    head.armature = 0.05
    act = spec.add_actuator(name=actuator_name(HEAD_PAN), target=HEAD_PAN)
    act.trntype = mujoco.mjtTrn.mjTRN_JOINT
    act.set_to_position(kp=50.0, kv=5.0)
    act.ctrlrange = list(head.range)
    act.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE


def _add_environment(spec: mujoco.MjSpec, config: SimulatorConfig) -> None:
    """Table (dull white, like the paper's), floor, lights and the cameras."""
    table = config.table
    cam = config.camera
    world = spec.worldbody
    centre_x = 0.5 * (table.near_x + table.far_x)
    half_depth = 0.5 * (table.far_x - table.near_x)
    world.add_geom(
        name=TABLE_GEOM,
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=[half_depth, table.half_width, 0.5 * table.thickness],
        pos=[centre_x, 0.0, table.top_z - 0.5 * table.thickness],
        rgba=[0.86, 0.86, 0.84, 1.0],
        friction=[table.friction, 0.01, 0.001],
        contype=WORLD_BIT,
        conaffinity=WORLD_BIT | ROBOT_BIT,
    )
    world.add_geom(
        name="floor",
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        size=[4.0, 4.0, 0.1],
        pos=[0.0, 0.0, -0.93],
        rgba=[0.35, 0.35, 0.38, 1.0],
        contype=WORLD_BIT,
        conaffinity=WORLD_BIT | ROBOT_BIT,
    )
    world.add_light(name="key", pos=[0.6, 0.0, 2.0], dir=[0.0, 0.0, -1.0], diffuse=[0.7] * 3)
    world.add_light(name="fill", pos=[1.5, 1.0, 1.5], dir=[-1.0, -0.6, -1.0], diffuse=[0.3] * 3)

    head = spec.body(HEAD_BODY)
    position = np.array(cam.position, dtype=float)
    head_origin = np.array([0.06, 0.0, 0.686])  # head_pan joint origin in the torso (= base)
    head_camera = head.add_camera(
        name=HEAD_CAMERA,
        pos=list(position - head_origin),
        quat=list(_look_at_quat(position, np.array(cam.look_at, dtype=float))),
        fovy=cam.fovy_deg,
    )
    for attribute, value in crop_sensor(cam).items():
        setattr(head_camera, attribute, value)
    for side in SIDES:
        spec.body(hand_camera(side)).add_camera(
            name=hand_camera(side),
            # Optical frame (z along the view, y down) to MuJoCo's (looks along -z, y up).
            quat=[0.0, 1.0, 0.0, 0.0],
            fovy=cam.hand_fovy_deg,
        )
    spec.visual.quality.shadowsize = cam.shadow_size
    spec.visual.quality.offsamples = cam.multisamples
    _, _, width, height = cam.crop_window
    spec.visual.global_.offwidth = max(width, cam.hand_width)
    spec.visual.global_.offheight = max(height, cam.hand_height)
    # MuJoCo scales the clipping planes by the model extent.
    spec.visual.map.znear = cam.near / spec.stat.extent
    spec.visual.map.zfar = cam.far / spec.stat.extent


@dataclass(frozen=True)
class BoardMarker:
    """A printed calibration board on a gripper: a thin visual-only plate (no contacts, no mass),
    so the physics of grasping is unchanged.

    Attributes:
        side: the gripper that holds it (on its ``<side>_gripper`` endpoint frame).
        image: (H, W) uint8 grey print of the board and its white margin, row 0 at the top.
        size: (width, height) m of the board without the margin.
        margin: m of white print around the board.
        in_gripper: 4x4 ``T_gripper_board``: the board frame (OpenCV's: origin at the board's
            top-left corner, x right, y down the print, z into the board) in the endpoint frame.
    """

    side: str
    image: np.ndarray
    size: tuple[float, float]
    margin: float
    in_gripper: np.ndarray


BOARD_THICKNESS = 0.004


def _add_board(spec: mujoco.MjSpec, marker: BoardMarker) -> None:
    """The board's print as a texture on a thin box mesh whose front face (z = 0 of the board
    frame, seen from -z) carries the image exactly over the board's extent."""
    spec.compiler.discardvisual = False  # the URDF import would drop a geom without contacts
    height, width = marker.image.shape
    texture = spec.add_texture(
        name="calibration_board",
        type=mujoco.mjtTexture.mjTEXTURE_2D,
        width=width,
        height=height,
        nchannel=3,
    )
    texture.data = np.repeat(marker.image[:, :, None], 3, axis=2).tobytes()
    material = spec.add_material(name="calibration_board", specular=0.0, shininess=0.0)
    material.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = "calibration_board"
    m, (w, h), d = marker.margin, marker.size, BOARD_THICKNESS
    corners = [(-m, -m), (w + m, -m), (w + m, h + m), (-m, h + m)]
    mesh = spec.add_mesh(name="calibration_board")
    mesh.uservert = [c for z in (0.0, d) for x, y in corners for c in (x, y, z)]
    mesh.usertexcoord = [0, 0, 1, 0, 1, 1, 0, 1] * 2
    # front (normal -z), back, then the four sides; counter-clockwise seen from outside
    # fmt: off
    mesh.userface = [
        0, 2, 1, 0, 3, 2,  4, 5, 6, 4, 6, 7,  0, 1, 5, 0, 5, 4,
        1, 2, 6, 1, 6, 5,  2, 3, 7, 2, 7, 6,  3, 0, 4, 3, 4, 7,
    ]
    # fmt: on
    mesh.smoothnormal = False
    rotation = np.asarray(marker.in_gripper, dtype=float)[:3, :3]
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, rotation.flatten())
    spec.body(endpoint_body(marker.side)).add_geom(
        name="calibration_board",
        type=mujoco.mjtGeom.mjGEOM_MESH,
        meshname="calibration_board",
        material="calibration_board",
        pos=list(np.asarray(marker.in_gripper, dtype=float)[:3, 3]),
        quat=list(quat),
        contype=0,
        conaffinity=0,
        mass=0.0,
        rgba=[1.0, 1.0, 1.0, 1.0],
    )


def build_model(
    config: SimulatorConfig,
    source: ObjectSource | None = None,
    placements: tuple[Placement, ...] = (),
    marker: BoardMarker | None = None,
) -> mujoco.MjModel:
    """Compile Baxter, table, cameras, ``placements`` (added through ``source``) and the
    calibration board ``marker``."""
    spec = mujoco.MjSpec.from_file(str(URDF_PATH))
    spec.modelname = "baxter_table"
    opt = spec.option
    opt.timestep = config.physics.timestep
    opt.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    opt.cone = (
        mujoco.mjtCone.mjCONE_ELLIPTIC
        if config.physics.cone == "elliptic"
        else mujoco.mjtCone.mjCONE_PYRAMIDAL
    )
    opt.impratio = config.physics.impratio
    opt.noslip_iterations = config.physics.noslip_iterations
    if config.physics.sleep:
        opt.enableflags |= int(mujoco.mjtEnableBit.mjENBL_SLEEP)
    # The URDF turns inertia-from-geoms off (its collision-only links would weigh kilograms at
    # water density); pin those links to their URDF mass explicitly so objects get "auto".
    for body in spec.bodies:
        body.explicitinertial = True
    spec.compiler.inertiafromgeom = mujoco.mjtInertiaFromGeom.mjINERTIAFROMGEOM_AUTO
    spec.stat.extent = 2.0
    spec.stat.center = [0.5, 0.0, 0.2]
    _configure_robot(spec, config)
    _add_actuators(spec, config)
    _add_environment(spec, config)
    if marker is not None:
        _add_board(spec, marker)
    for placement in placements:
        if source is None:
            raise ValueError("placements need an object source")
        body = source.add_to_spec(
            spec, placement.obj, placement.body_name, placement.pos, placement.quat
        )
        for geom in body.geoms:
            geom.contype = WORLD_BIT
            geom.conaffinity = WORLD_BIT | ROBOT_BIT
    home = home_joint_positions()
    model = spec.compile()
    qpos = np.array(model.qpos0)
    ctrl = np.zeros(model.nu)
    for name, value in home.items():
        qpos[model.jnt_qposadr[model.joint(name).id]] = value
        act = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_ACTUATOR, actuator_name(name))
        if act >= 0:
            ctrl[act] = value
    spec.add_key(name="home", qpos=qpos.tolist(), ctrl=ctrl.tolist())
    return spec.compile()
