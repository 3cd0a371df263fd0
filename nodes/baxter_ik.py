"""The SDK's IK service on the ROS 2 side, for a real Baxter behind ros1_bridge.

ros1_bridge cannot bridge ``SolvePositionIK`` (our response names the SDK's ``isValid``
``is_valid``, and the bridge pairs services only by identical field names, ros2/ros1_bridge#285),
so this node answers it here, on the SDK's service names, with the simulated Baxter's own solver
(``simulator.kinematics.BaxterKinematics``: damped least squares on Rethink's URDF, without the
simulation) and its settings (``simulator.arm.ik_*``), to the robot's tolerance
(``robot.ik_tolerance_*``, 1 mm and 0.5 deg): a real robot's plan is solved as the simulator's
would be. Like the SDK, ``SEED_AUTO`` and ``SEED_CURRENT`` start from the arm's
measured angles (``robot.joint_states_topic``), after the request's seed angles unless
``SEED_CURRENT``.

Node name: ``baxter_ik``.
Subscribers: ``robot.joint_states_topic`` (``/robot/joint_states``, JointState).
Services: ``robot.ik_service`` for each arm
    (``/ExternalTools/<side>/PositionKinematicsNode/IKService``, SolvePositionIK).
Parameters: ``config_file``; the ``robot`` and ``simulator`` sections.
"""

from __future__ import annotations

from baxter_core_msgs.srv import SolvePositionIK
from rclpy.node import Node
from sensor_msgs.msg import JointState

from supersize_grasp.ik_service import IKTarget, ik_response, ik_targets, solve_target
from supersize_grasp.nodes.parameters import load_node_config
from supersize_grasp.nodes.spin import run_node
from supersize_grasp.qos import LATEST
from supersize_grasp.simulator.kinematics import BaxterKinematics
from supersize_grasp.simulator.scene import SIDES


class BaxterIK(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("baxter_ik", **kwargs)
        config = load_node_config(self, ["robot", "simulator"])
        robot = config.robot
        self.base_frame = robot.base_frame
        solver = config.simulator.arm.model_copy(
            update={
                "ik_tolerance_position": robot.ik_tolerance_position,
                "ik_tolerance_angle": robot.ik_tolerance_angle,
            }
        )
        self.kinematics = BaxterKinematics(solver)
        self.current: dict[str, float] = {}
        self.create_subscription(JointState, robot.joint_states_topic, self._on_joints, LATEST)
        self.ik_services = {
            side: self.create_service(
                SolvePositionIK,
                robot.topic(robot.ik_service, side),
                lambda request, response, side=side: self._on_ik(side, request, response),
            )
            for side in SIDES
        }
        names = ", ".join(s.srv_name for s in self.ik_services.values())
        self.get_logger().info(f"IK for both arms on {names}")

    def _on_joints(self, msg: JointState) -> None:
        if len(msg.name) == len(msg.position):
            self.current.update(zip(msg.name, msg.position, strict=True))

    def _on_ik(self, side: str, request, response):
        targets, problems = ik_targets(request, self.base_frame)
        names = self.kinematics.joint_names[side]
        current = self.current if all(n in self.current for n in names) else None
        if current is None and request.seed_mode != request.SEED_USER:
            problems.append("no joint states yet: the current angles are not tried")

        def solve(t: IKTarget) -> tuple[bool, dict[str, float]]:
            return self.kinematics.solve(side, t.position, t.orientation, t.seed, current)

        answers = [solve_target(solve, target) for target in targets]
        for problem in problems + [a.error for a in answers if a.error]:
            self.get_logger().warning(f"{side} IK: {problem}", throttle_duration_sec=1.0)
        return ik_response(response, targets, answers)


def main(args=None) -> None:
    run_node(BaxterIK, args)


if __name__ == "__main__":
    main()
