"""Interface check: proves that our message, service and action types work across processes.

``InterfaceEchoNode`` (a server process) answers every custom service and action with values
derived from the request and echoes every custom message type; ``InterfaceCheckClient`` sends one
of each and compares. It checks the build of both interface packages, typesupport loading and DDS
discovery, the way ``ros2 doctor`` checks an installation.

Node name: ``interface_echo``.
Services: ``~/solve_position_ik`` (SolvePositionIK), ``~/score_grasps`` (ScoreGrasps).
Actions: ``~/collect_trials`` (CollectTrials).
Topics: ``~/<Type>`` in, ``~/<Type>/echo`` out, for every message type of both packages.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from baxter_core_msgs import msg as baxter_msg
from baxter_core_msgs.srv import SolvePositionIK
from geometry_msgs.msg import PoseStamped
from rclpy.action import ActionClient, ActionServer
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState
from supersize_grasp_interfaces import msg as ssg_msg
from supersize_grasp_interfaces.action import CollectTrials
from supersize_grasp_interfaces.srv import ScoreGrasps

from supersize_grasp.nodes.spin import run_node

NODE_NAME = "interface_echo"
MESSAGE_TYPES = [
    baxter_msg.AssemblyState,
    baxter_msg.EndEffectorCommand,
    baxter_msg.EndEffectorProperties,
    baxter_msg.EndEffectorState,
    baxter_msg.EndpointState,
    baxter_msg.JointCommand,
    ssg_msg.PlanarGrasp,
    ssg_msg.TrialRecord,
    ssg_msg.KeyValue,
    ssg_msg.BehaviourSnapshot,
    ssg_msg.TreeStatistics,
    ssg_msg.TreeSnapshot,
]
_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def _filled(msg_type: type):
    """A message whose primitive fields hold non-default values, so an echo proves the bytes."""
    msg = msg_type()
    for name, kind in msg_type.get_fields_and_field_types().items():
        value = {"string": "check", "boolean": True, "float": 0.5, "double": 0.25}.get(kind)
        if value is None and kind.startswith(("int", "uint")):
            value = 7
        if value is not None:
            setattr(msg, name, value)
    return msg


def _topic(namespace: str, msg_type: type) -> str:
    return f"{namespace}/{msg_type.__module__.split('.')[0]}/{msg_type.__name__}"


class InterfaceEchoNode(Node):
    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        ns = f"/{NODE_NAME}"
        self.create_service(SolvePositionIK, f"{ns}/solve_position_ik", self._solve_ik)
        self.create_service(ScoreGrasps, f"{ns}/score_grasps", self._score)
        self._action = ActionServer(self, CollectTrials, f"{ns}/collect_trials", self._collect)
        self._echoes = []
        for msg_type in MESSAGE_TYPES:
            pub = self.create_publisher(msg_type, _topic(ns, msg_type) + "/echo", _QOS)
            self._echoes.append(pub)
            self.create_subscription(msg_type, _topic(ns, msg_type), pub.publish, _QOS)

    def _solve_ik(self, request, response):
        for pose in request.pose_stamp:
            p = pose.pose.position
            response.joints.append(JointState(name=["x", "y", "z"], position=[p.x, p.y, p.z]))
            response.is_valid.append(p.z >= 0.0)
            response.result_type.append(
                request.seed_mode if p.z >= 0.0 else SolvePositionIK.Response.RESULT_INVALID
            )
        return response

    def _score(self, request, response):
        n_bins = 18
        response.candidate_u = list(request.candidate_u)
        response.candidate_v = list(request.candidate_v)
        response.scores = [
            (u + v + k) % 1.0
            for u, v in zip(request.candidate_u, request.candidate_v, strict=True)
            for k in range(n_bins)
        ]
        response.num_angle_bins = n_bins
        response.model_id = f"echo:{request.image.width}x{request.image.height}"
        response.success = True
        return response

    def _collect(self, goal_handle):
        feedback = CollectTrials.Feedback()
        for i in range(goal_handle.request.num_trials):
            feedback.trials_done = i + 1
            feedback.last_trial.trial_id = i
            goal_handle.publish_feedback(feedback)
        goal_handle.succeed()
        return CollectTrials.Result(
            trials_done=goal_handle.request.num_trials, message=goal_handle.request.chooser
        )


@dataclass
class CheckResult:
    name: str
    ok: bool
    seconds: float
    detail: str = ""


class InterfaceCheckClient(Node):
    """Sends one of everything to an ``InterfaceEchoNode`` and checks what comes back."""

    def __init__(self) -> None:
        super().__init__("interface_check_client")
        ns = f"/{NODE_NAME}"
        self.ik = self.create_client(SolvePositionIK, f"{ns}/solve_position_ik")
        self.score = self.create_client(ScoreGrasps, f"{ns}/score_grasps")
        self.collect = ActionClient(self, CollectTrials, f"{ns}/collect_trials")
        self._received: dict[type, list] = {t: [] for t in MESSAGE_TYPES}
        self._lock = threading.Lock()
        self.publishers_ = {}
        for msg_type in MESSAGE_TYPES:
            self.publishers_[msg_type] = self.create_publisher(msg_type, _topic(ns, msg_type), _QOS)
            self.create_subscription(
                msg_type, _topic(ns, msg_type) + "/echo", self._store(msg_type), _QOS
            )

    def _store(self, msg_type):
        def callback(msg):
            with self._lock:
                self._received[msg_type].append(msg)

        return callback

    def run_all(self, timeout: float) -> list[CheckResult]:
        """Blocking; call from a thread other than the executor's."""
        return [
            self._timed("service SolvePositionIK", self._check_ik, timeout),
            self._timed("service ScoreGrasps", self._check_score, timeout),
            self._timed("action CollectTrials", self._check_collect, timeout),
            *[
                self._timed(
                    f"topic {t.__module__.split('.')[0]}/{t.__name__}",
                    self._check_topic(t),
                    timeout,
                )
                for t in MESSAGE_TYPES
            ],
        ]

    @staticmethod
    def _timed(name, check, timeout) -> CheckResult:
        start = time.monotonic()
        try:
            detail = check(timeout) or ""
            return CheckResult(name, True, time.monotonic() - start, detail)
        except Exception as e:  # every failure becomes a reported line
            return CheckResult(name, False, time.monotonic() - start, f"{type(e).__name__}: {e}")

    @staticmethod
    def _wait(future, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while not future.done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer to {what} within {timeout:.0f} s")
            time.sleep(0.002)
        return future.result()

    def _call(self, client, request, timeout):
        if not client.wait_for_service(timeout_sec=timeout):
            raise TimeoutError(f"service {client.srv_name} not available within {timeout:.0f} s")
        return self._wait(client.call_async(request), timeout, client.srv_name)

    def _check_ik(self, timeout):
        request = SolvePositionIK.Request(seed_mode=SolvePositionIK.Request.SEED_USER)
        for z in (0.1, -0.2):
            pose = PoseStamped()
            pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = 0.6, 0.2, z
            request.pose_stamp.append(pose)
        response = self._call(self.ik, request, timeout)
        expected_valid = [True, False]
        if list(response.is_valid) != expected_valid or list(response.joints[0].position) != [
            0.6,
            0.2,
            0.1,
        ]:
            raise AssertionError(f"unexpected answer {response}")
        return f"is_valid={list(response.is_valid)}"

    def _check_score(self, timeout):
        request = ScoreGrasps.Request(
            candidate_u=[10.0, 20.5], candidate_v=[3.0, 4.0], num_samples=2
        )
        request.image.width, request.image.height = 64, 48
        response = self._call(self.score, request, timeout)
        expected = [(u + v + k) % 1.0 for u, v in ((10.0, 3.0), (20.5, 4.0)) for k in range(18)]
        if not response.success or response.model_id != "echo:64x48":
            raise AssertionError(f"unexpected answer {response.message!r} {response.model_id!r}")
        if any(
            not math.isclose(a, b, abs_tol=1e-6)
            for a, b in zip(response.scores, expected, strict=True)
        ):
            raise AssertionError("scores do not match")
        return f"{len(response.scores)} scores"

    def _check_collect(self, timeout):
        if not self.collect.wait_for_server(timeout_sec=timeout):
            raise TimeoutError("action server not available")
        feedback = []
        goal = CollectTrials.Goal(num_trials=3, chooser="random", arms=["left", "right"])
        handle = self._wait(
            self.collect.send_goal_async(goal, feedback_callback=feedback.append), timeout, "goal"
        )
        if not handle.accepted:
            raise AssertionError("goal rejected")
        result = self._wait(handle.get_result_async(), timeout, "result").result
        if result.trials_done != 3 or result.message != "random":
            raise AssertionError(f"unexpected result {result}")
        return f"{len(feedback)} feedback messages"

    def _check_topic(self, msg_type):
        def check(timeout):
            pub = self.publishers_[msg_type]
            deadline = time.monotonic() + timeout
            sent = _filled(msg_type)
            while time.monotonic() < deadline:
                pub.publish(sent)
                time.sleep(0.05)
                with self._lock:
                    if self._received[msg_type]:
                        if self._received[msg_type][0] != sent:
                            raise AssertionError("echo differs from what was sent")
                        return ""
            raise TimeoutError(f"no echo within {timeout:.0f} s")

        return check


def run_check(timeout: float = 10.0) -> list[CheckResult]:
    """Runs the client against an echo node that is already running (another process)."""
    node = InterfaceCheckClient()
    executor = MultiThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        return node.run_all(timeout)
    finally:
        executor.shutdown()
        node.destroy_node()


def main(args=None) -> None:
    run_node(InterfaceEchoNode, args, make_executor=MultiThreadedExecutor)


if __name__ == "__main__":
    main()
