"""The grasp-scoring node: the CNN as a ROS 2 service, over :class:`models.scoring.GraspScorer`.

Answers the N x 18 graspability matrix of the candidate pixels (given, or sampled in a region)
and the best grasp in pixels and on the table. The checkpoint is a parameter; setting it again
(``ros2 param set /grasp_scorer checkpoint new.pt``) switches models without a restart, and a
checkpoint that does not load is refused with the reason, keeping the current model.

Node name: ``grasp_scorer``.
Services: ``~/score`` (supersize_grasp_interfaces/srv/ScoreGrasps).
Parameters: ``config_file``; the ``learning`` and ``trial`` sections (``trial.table_z`` is the
    plane the best grasp is placed on; a checkpoint whose inputs are not ``learning.inputs`` is
    refused, naming both; rgbd models refuse requests without depth); ``checkpoint`` (path,
    '' = none yet); ``fast`` (share the convolutions across patches; false scores patch by
    patch, for comparison).
"""

from __future__ import annotations

import threading

import numpy as np
from geometry_msgs.msg import PointStamped
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.node import Node
from supersize_grasp_interfaces.msg import PlanarGrasp
from supersize_grasp_interfaces.srv import ScoreGrasps

from supersize_grasp.geometry import table_angle_bin
from supersize_grasp.models.checkpoint import CheckpointError
from supersize_grasp.models.scoring import GraspScorer, sample_in_region
from supersize_grasp.msgs import (
    camera_model,
    candidate_pixels,
    check_inside,
    image_to_depth,
    image_to_rgb,
)
from supersize_grasp.nodes.parameters import load_node_config
from supersize_grasp.nodes.spin import run_node

NODE_NAME = "grasp_scorer"
MAX_CANDIDATES = 20_000


class GraspScorerNode(Node):
    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        config = load_node_config(self, ["learning", "trial", "robot"])
        self.table_z = config.trial.table_z
        self.inputs = config.learning.inputs
        self.base_frame = config.robot.base_frame
        self.scorer: GraspScorer | None = None
        self.lock = threading.Lock()
        path = self.declare_parameter(
            "checkpoint",
            str(config.learning.checkpoint or ""),
            ParameterDescriptor(description="grasp-network checkpoint; set again to switch"),
        ).value
        self.fast = self.declare_parameter(
            "fast", True, ParameterDescriptor(description="share convolutions across patches")
        ).value
        if path:
            # a bad checkpoint, or one of other inputs, at start-up stops the node
            self.scorer = GraspScorer.load(path, self.inputs)
            self.get_logger().info(f"scoring with {path} (model {self.scorer.model_id})")
        else:
            self.get_logger().warning("no checkpoint yet: set the 'checkpoint' parameter")
        self.add_on_set_parameters_callback(self._on_parameters)
        self.create_service(ScoreGrasps, "~/score", self._score)

    def _on_parameters(self, parameters) -> SetParametersResult:
        for p in parameters:
            if p.name == "checkpoint":
                try:
                    scorer = GraspScorer.load(p.value, self.inputs) if p.value else None
                except CheckpointError as e:
                    return SetParametersResult(successful=False, reason=str(e))
                with self.lock:
                    self.scorer = scorer
                self.get_logger().info(
                    f"switched to {p.value} (model {scorer.model_id})" if scorer else "unloaded"
                )
            elif p.name == "fast":
                self.fast = bool(p.value)
        return SetParametersResult(successful=True)

    def _score(self, request: ScoreGrasps.Request, response: ScoreGrasps.Response):
        with self.lock:
            scorer = self.scorer
        try:
            if scorer is None:
                raise ValueError("no checkpoint loaded: set the 'checkpoint' parameter")
            return self._answer(scorer, request, response)
        except ValueError as e:
            response.success = False
            response.message = str(e)
            self.get_logger().warning(f"refused a request: {e}", throttle_duration_sec=5.0)
            return response

    def _answer(self, scorer: GraspScorer, request, response):
        rgb = image_to_rgb(request.image, "image")
        info = request.camera_info
        camera = camera_model(info, request.camera_pose)
        if camera.width != rgb.shape[1] or camera.height != rgb.shape[0]:
            raise ValueError(
                f"camera_info ({camera.width}x{camera.height}) does not describe the "
                f"{rgb.shape[1]}x{rgb.shape[0]} image"
            )
        u, v = candidate_pixels(request)
        if not u.size:
            r = request.region
            if request.num_samples == 0 or r.width == 0 or r.height == 0:
                raise ValueError("give candidate pixels, or a region and num_samples > 0")
            rng = np.random.default_rng(request.seed)
            u, v = sample_in_region(
                (r.x_offset, r.y_offset, r.width, r.height), request.num_samples, rng
            )
        if u.size > MAX_CANDIDATES:
            raise ValueError(f"{u.size} candidates; at most {MAX_CANDIDATES} per request")
        check_inside(u, v, camera)
        depth = None
        if scorer.inputs == "rgbd" and request.depth.height and request.depth.width:
            depth = image_to_depth(request.depth, "depth")
        scores = scorer.score(rgb, camera, self.table_z, u, v, fast=self.fast, depth=depth)
        best = scorer.best_grasp(scores, camera, self.table_z)
        response.success = True
        response.model_id = scorer.model_id
        response.num_angle_bins = scorer.num_bins
        response.candidate_u = scores.u.tolist()
        response.candidate_v = scores.v.tolist()
        response.scores = scores.scores.ravel().tolist()
        position = PointStamped()
        position.header.frame_id = self.base_frame
        position.header.stamp = request.image.header.stamp
        position.point.x, position.point.y, position.point.z = best.position
        response.best = PlanarGrasp(
            u=best.u,
            v=best.v,
            angle=best.theta,
            angle_bin=table_angle_bin(best.theta, scorer.num_bins),
            score=best.score,
            position=position,
        )
        return response


def main(args=None) -> None:
    run_node(GraspScorerNode, args)


if __name__ == "__main__":
    main()
