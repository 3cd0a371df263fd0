"""The real robot's IK node (``nodes/baxter_ik.py``) answers as the simulated Baxter does.

A real Baxter's IK service cannot cross ros1_bridge, so ``baxter_ik`` serves it on the ROS 2
side from the simulator's solver on a kinematics-only model. Here it runs over real DDS: against
the simulated Baxter's own service on the same poses, and seeded from ``/robot/joint_states`` as
the SDK seeds from the robot's current angles.
"""

import math

import numpy as np
import pytest
from baxter_core_msgs.srv import SolvePositionIK
from geometry_msgs.msg import PoseStamped
from sensor_msgs.msg import JointState

from supersize_grasp.behaviors.trial_plan import plan_trial
from supersize_grasp.config import load_config
from supersize_grasp.config.simulator import SimulatorConfig
from supersize_grasp.geometry import top_down_quaternion
from supersize_grasp.graph import sim_graph
from supersize_grasp.launcher import GraphProcess
from supersize_grasp.simulator.kinematics import BaxterKinematics
from supersize_grasp.simulator.world import BaxterWorld
from tests.sdk_client import IKNode, Listener

SIDES = ("left", "right")
PRIMITIVES = {"folder": "builtin:primitives", "graspable_only": False}  # no object data needed
SDK_IK = load_config().robot.ik_service
REAL_IK = "/real_ik/{side}/IKService"  # beside the simulator's own, for the comparison
TOLERANCE = (0.001, math.radians(0.5))  # m, rad: what a solution must reach per FK
# Out of reach, not reachable top-down (nothing at x = 0.9, baxter-model note), the other half
# of the table beyond the arm's 0.8 m disc about its shoulder.
UNREACHABLE = {
    "left": [(1.6, 0.3, 0.0), (0.92, 0.25, -0.14), (0.5, -0.9, -0.1)],
    "right": [(1.6, -0.3, 0.0), (0.92, -0.25, -0.14), (0.5, 0.9, -0.1)],
}


def kinematics() -> BaxterKinematics:
    return BaxterKinematics(load_config().simulator.arm)


def angle_between(q1, q2) -> float:
    return 2 * math.acos(min(1.0, abs(float(np.dot(q1, q2)))))


def fk_error(kin: BaxterKinematics, side: str, joints, position, quaternion):
    reached, turned = kin.forward(side, joints)
    return float(np.linalg.norm(reached - np.asarray(position))), angle_between(turned, quaternion)


def test_the_kinematic_model_moves_as_the_simulated_arms():
    """Rethink's URDF alone has the scene's arm chains and limits: same endpoint at any angles."""
    world = BaxterWorld(SimulatorConfig(objects=PRIMITIVES), seed=3)
    kin = kinematics()
    rng = np.random.default_rng(2)
    try:
        for side in SIDES:
            arm = world.arm(side)
            ids = [kin.model.joint(n).id for n in arm.joint_names]
            np.testing.assert_array_equal(kin.model.jnt_range[ids, 0], arm.lower)
            np.testing.assert_array_equal(kin.model.jnt_range[ids, 1], arm.upper)
            for _ in range(20):
                q = arm.lower + rng.uniform(size=7) * (arm.upper - arm.lower)
                joints = dict(zip(arm.joint_names, q, strict=True))
                expected = arm.forward_kinematics(joints)
                position, orientation = kin.forward(side, joints)
                np.testing.assert_allclose(position, expected.position, atol=1e-12)
                np.testing.assert_allclose(orientation, expected.orientation, atol=1e-12)
    finally:
        world.close()


def test_bad_sides_and_joint_sets_are_refused_by_name():
    kin = kinematics()
    with pytest.raises(ValueError, match="side must be 'left' or 'right', got 'middle'"):
        kin.solve("middle", (0.6, 0.2, 0.0), top_down_quaternion(0.0))
    with pytest.raises(ValueError, match="needs \\['left_w2'\\]"):
        kin.forward("left", {f"left_{j}": 0.0 for j in ("s0", "s1", "e0", "e1", "w0", "w1")})


def request(positions, quaternions, seed_mode=0, seed_angles=(), frame="base"):
    msg = SolvePositionIK.Request(seed_mode=seed_mode, seed_angles=list(seed_angles))
    for (x, y, z), (qx, qy, qz, qw) in zip(positions, quaternions, strict=True):
        pose = PoseStamped()
        pose.header.frame_id = frame
        p, o = pose.pose.position, pose.pose.orientation
        p.x, p.y, p.z, o.x, o.y, o.z, o.w = map(float, (x, y, z, qx, qy, qz, qw))
        msg.pose_stamp.append(pose)
    return msg


class IKClient(Listener):
    """Calls the IK services named by ``template`` and publishes joint states when asked."""

    def __init__(self, template: str, name: str = "ik_client") -> None:
        super().__init__(name)
        self.clients = {
            s: self.node.create_client(SolvePositionIK, template.format(side=s)) for s in SIDES
        }
        self.joints_pub = self.node.create_publisher(JointState, "/robot/joint_states", 10)

    def call(self, side: str, msg: SolvePositionIK.Request) -> SolvePositionIK.Response:
        client = self.clients[side]
        self.wait_for(client.service_is_ready, 60, f"{client.srv_name}", period=0.1, every=noop)
        future = client.call_async(msg)
        future.add_done_callback(lambda _f: self._notify())
        self.wait_for(future.done, 60, f"an answer from {client.srv_name}")
        return future.result()

    def _notify(self) -> None:
        with self.changed:
            self.changed.notify_all()


def solution(response: SolvePositionIK.Response) -> dict[str, float]:
    joints = response.joints[0]
    return dict(zip(joints.name, joints.position, strict=True))


def noop() -> None:
    pass


def poses_over_the_table(side: str, n: int, seed: int):
    """``n`` top-down grasp poses of the trial's plan (at the grasp and 25 cm above it) spread
    over this arm's workspace, at random angles."""
    config = load_config()
    w = getattr(config.arms, side).workspace
    rng = np.random.default_rng(seed)
    poses = []
    for i in range(n):
        x, y = rng.uniform(w.x_min, w.x_max), rng.uniform(w.y_min, w.y_max)
        theta = rng.uniform(0.0, math.pi)
        plan = plan_trial(config.trial, x, y, theta)
        z = plan.z_grasp if i % 2 else plan.z_above
        poses.append(((x, y, z), top_down_quaternion(theta)))
    return poses


@pytest.mark.ros
@pytest.mark.slow
def test_the_ik_node_agrees_with_the_simulated_baxter():
    """The same requests to both services, each seeded with the same current angles (the
    simulator's, published on /robot/joint_states), both solving to the robot's tolerance: the
    same poses valid, and every solution within 1 mm and 0.5 degrees of its target by forward
    kinematics."""
    robot = load_config().robot  # the simulator solves to the IK node's tolerance
    overrides = {
        "simulator.arm.ik_tolerance_position": robot.ik_tolerance_position,
        "simulator.arm.ik_tolerance_angle": robot.ik_tolerance_angle,
        **{f"simulator.objects.{k}": v for k, v in PRIMITIVES.items()},
    }
    config = load_config(overrides=overrides)
    graph = GraphProcess(sim_graph(), config=config)
    real = IKNode(**{"robot.ik_service": REAL_IK})
    sim, ros2 = IKClient(SDK_IK, "sim_ik_client"), IKClient(REAL_IK)
    kin = kinematics()
    try:
        ros2.wait_for(lambda: real.node.current, 90, "joint states at the IK node", every=noop)
        figures = {"poses": 0, "same validity": 0, "valid": 0, "worst mm": 0.0, "worst deg": 0.0}
        joint_gap = 0.0
        for k, side in enumerate(SIDES):
            reachable = poses_over_the_table(side, 50, seed=k)
            unreachable = [(p, top_down_quaternion(0.0)) for p in UNREACHABLE[side]]
            for i, (position, quaternion) in enumerate(reachable + unreachable):
                msg = request([position], [quaternion])
                a, b = sim.call(side, msg), ros2.call(side, msg)
                assert list(a.is_valid) == list(b.is_valid), f"{side} pose {position}"
                assert a.is_valid[0] == (i < len(reachable)), f"{side} pose {position}"
                figures["poses"] += 1
                figures["same validity"] += a.is_valid[0] == b.is_valid[0]
                if not a.is_valid[0]:
                    assert b.result_type[0] == SolvePositionIK.Response.RESULT_INVALID
                    continue
                figures["valid"] += 1
                answers = [solution(r) for r in (a, b)]
                for joints in answers:
                    mm, rad = fk_error(kin, side, joints, position, quaternion)
                    assert mm < TOLERANCE[0] and rad < TOLERANCE[1], f"{side} {position}"
                    figures["worst mm"] = max(figures["worst mm"], 1000 * mm)
                    figures["worst deg"] = max(figures["worst deg"], math.degrees(rad))
                gap = max(abs(answers[0][n] - answers[1][n]) for n in answers[0])
                joint_gap = max(joint_gap, gap)
        print(f"\nIK agreement, simulator vs baxter_ik: {figures}, joint gap {joint_gap:.2e} rad")
    finally:
        for closing in (sim, ros2, real):
            closing.close()
        graph.shutdown()


@pytest.fixture(scope="module")
def ik():
    """The IK node and a client that plays the robot's /robot/joint_states."""
    node, client = IKNode(), IKClient(SDK_IK)
    try:
        yield node, client
    finally:
        client.close()
        node.close()


def arm_state(joints: dict[str, float]) -> JointState:
    """A robot's joint states: the arm's angles among the others (head, the other arm)."""
    others = {"head_pan": 0.1, **{f"right_{j}": 0.2 for j in ("s0", "s1", "e1")}}
    names = [*others, *joints]
    return JointState(name=names, position=[*others.values(), *joints.values()])


def publish_current(node: IKNode, client: IKClient, joints: dict[str, float]) -> None:
    client.wait_for(
        lambda: all(node.node.current.get(n) == v for n, v in joints.items()),
        30,
        "the IK node to take the joint states",
        every=lambda: client.joints_pub.publish(arm_state(joints)),
    )


def a_pose_and_its_angles(kin, seed: int):
    """Angles inside the limits and the endpoint pose they give (the pose's exact solution)."""
    rng = np.random.default_rng(seed)
    names = kin.joint_names["left"]
    ids = [kin.model.joint(n).id for n in names]
    lower, upper = kin.model.jnt_range[ids].T
    joints = dict(zip(names, lower + rng.uniform(0.3, 0.7, size=7) * (upper - lower), strict=True))
    return joints, kin.forward("left", joints)


@pytest.mark.ros
@pytest.mark.parametrize(
    ("mode", "starts_from"),
    [
        (SolvePositionIK.Request.SEED_CURRENT, "current"),
        (SolvePositionIK.Request.SEED_USER, "seed"),
    ],
)
def test_the_seed_mode_says_where_the_solve_starts(ik, mode, starts_from):
    """SEED_CURRENT ignores the request's seed angles and starts from /robot/joint_states;
    SEED_USER (what the tree sends for a path after the first) starts from the request's seed.
    The pose asked for is the one the expected start solves exactly, so that start is the answer.
    """
    node, client = ik
    kin = kinematics()
    current, current_pose = a_pose_and_its_angles(kin, 1)
    seeded, seeded_pose = a_pose_and_its_angles(kin, 2)
    publish_current(node, client, current)
    expected, (position, quaternion) = (
        (current, current_pose) if starts_from == "current" else (seeded, seeded_pose)
    )
    seed = JointState(name=list(seeded), position=list(seeded.values()))
    answer = client.call("left", request([position], [quaternion], mode, [seed]))
    assert list(answer.is_valid) == [True]
    assert answer.result_type[0] == mode
    assert solution(answer) == pytest.approx(expected)


@pytest.mark.ros
def test_poses_it_cannot_take_are_invalid_not_errors(ik):
    """Another frame than the base, a zero quaternion, a NaN: each pose is invalid on its own,
    the valid one beside them is still solved."""
    _, client = ik
    good = ((0.6, 0.2, -0.1), top_down_quaternion(0.3))
    positions = [good[0], (0.6, 0.2, -0.1), (math.nan, 0.2, -0.1)]
    quaternions = [good[1], (0.0, 0.0, 0.0, 0.0), good[1]]
    answer = client.call("left", request(positions, quaternions))
    assert list(answer.is_valid) == [True, False, False]
    invalid = SolvePositionIK.Response.RESULT_INVALID
    assert list(answer.result_type)[1:] == [invalid, invalid]
    assert [len(j.position) for j in answer.joints] == [7, 0, 0]
    other_frame = client.call("left", request([good[0]], [good[1]], frame="world"))
    assert list(other_frame.is_valid) == [False]
