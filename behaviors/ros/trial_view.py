"""What the robot saw at each trial, as an annotated JPEG on ``~/trial_view`` for the viewer.

The behaviours know nothing of the view: the grasp choosers write ``/<side>/grasp`` (a learned
chooser attaches the scores it chose from) next to the capture in ``/<side>/scene``. A
:class:`TrialViewPublisher` rides on the tree as a post-tick handler; when a side's grasp object
changes it draws the head image, downscaled, with the ROI, the grasp (the fingers' footprint on
the table, projected, so the rectangle stands at the grasp angle as the camera sees it) and the
learned scores as a heat map, and publishes it latched. Once per chosen grasp, a few ms.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import py_trees
from py_trees.common import Access
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage

from supersize_grasp.behaviors.scene import Scene
from supersize_grasp.behaviors.trial_state import Grasp, key
from supersize_grasp.qos import LATCHED

__all__ = ["FINGER_WIDTH", "TrialViewPublisher", "grasp_corners", "trial_view_image"]

FINGER_WIDTH = 0.02  # m: the footprint's side across the closing axis
_ROI_COLOUR = (0, 220, 255)  # BGR
_GRASP_COLOUR = (60, 255, 60)
_FINGER_COLOUR = (40, 40, 255)


def grasp_corners(scene: Scene, grasp: Grasp, table_z: float, opening: float) -> np.ndarray:
    """The 4 pixels (4, 2) of the gripper's footprint at the grasp: ``opening`` along the
    closing axis (table angle ``theta``) by :data:`FINGER_WIDTH`, on the table plane."""
    along = np.array([math.cos(grasp.theta), math.sin(grasp.theta), 0.0]) * opening / 2
    across = np.array([-math.sin(grasp.theta), math.cos(grasp.theta), 0.0]) * FINGER_WIDTH / 2
    centre = np.array([grasp.x, grasp.y, table_z])
    corners = [centre + a + c for a, c in ((along, across), (along, -across),
                                          (-along, -across), (-along, across))]  # fmt: skip
    return scene.camera.project(np.array(corners))


def _heat_map(image: np.ndarray, grasp: Grasp, scale: float) -> None:
    """Each scored pixel as a dot coloured by its best angle's score (blue 0 .. red 1)."""
    scores = grasp.scores
    best = np.clip(np.nan_to_num(scores.scores.max(axis=1)), 0.0, 1.0)
    colours = cv2.applyColorMap((best * 255).astype(np.uint8).reshape(-1, 1), cv2.COLORMAP_JET)
    overlay = image.copy()
    radius = max(2, round(4 * scale))
    for u, v, colour in zip(scores.u, scores.v, colours[:, 0], strict=True):
        cv2.circle(overlay, (round(u * scale), round(v * scale)), radius, colour.tolist(), -1)
    cv2.addWeighted(overlay, 0.7, image, 0.3, 0.0, dst=image)


def trial_view_image(
    scene: Scene,
    grasp: Grasp,
    label: str,
    table_z: float,
    opening: float,
    max_width: int = 640,
) -> np.ndarray:
    """The head image (BGR, at most ``max_width`` wide) with ROI, heat map, grasp and ``label``."""
    height, width = scene.rgb.shape[:2]
    scale = min(1.0, max_width / width)
    size = (round(width * scale), round(height * scale))
    image = cv2.resize(
        cv2.cvtColor(scene.rgb, cv2.COLOR_RGB2BGR), size, interpolation=cv2.INTER_AREA
    )
    if grasp.scores is not None:
        _heat_map(image, grasp, scale)
    roi = grasp.roi
    cv2.rectangle(
        image,
        (round(roi.x * scale), round(roi.y * scale)),
        (round((roi.x + roi.width) * scale), round((roi.y + roi.height) * scale)),
        _ROI_COLOUR,
        1,
    )
    corners = grasp_corners(scene, grasp, table_z, opening) * scale
    if np.isfinite(corners).all():
        points = np.round(corners).astype(np.int32)
        cv2.polylines(image, [points], True, _GRASP_COLOUR, 2, cv2.LINE_AA)
        for a, b in ((0, 1), (2, 3)):  # the fingers: the short sides
            cv2.line(image, tuple(points[a]), tuple(points[b]), _FINGER_COLOUR, 3, cv2.LINE_AA)
    cv2.circle(image, (round(grasp.u * scale), round(grasp.v * scale)), 2, _GRASP_COLOUR, -1)
    for colour, thickness in (((0, 0, 0), 3), ((255, 255, 255), 1)):  # outlined: any background
        cv2.putText(
            image, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, thickness, cv2.LINE_AA
        )
    return image


class TrialViewPublisher:
    """Publish each side's newly chosen grasp, drawn on its scene, as a ``CompressedImage``.

    Topics:
        ``topic`` (``sensor_msgs/CompressedImage``, JPEG, latched): ``header.frame_id`` is the
        arm; the stamp is the capture's, on the robot clock.

    Args:
        tree: the tree whose post-tick handlers get ours
        node: owns the publisher
        sides: the arms whose ``/<side>/grasp`` to watch
        chooser: named in the label (``random``, ``sample``, ``greedy``)
        table_z, opening: table height and gripper opening (m) for the grasp's footprint
    """

    def __init__(
        self,
        tree: py_trees.trees.BehaviourTree,
        node: Node,
        sides: list[str],
        chooser: str,
        table_z: float,
        opening: float,
        topic: str = "~/trial_view",
        max_width: int = 640,
        quality: int = 80,
    ) -> None:
        self.sides, self.chooser = sides, chooser
        self.table_z, self.opening = table_z, opening
        self.max_width, self.quality = max_width, quality
        self.bb = py_trees.blackboard.Client(name="Trial view")
        for side in sides:
            self.bb.register_key(key(side, "grasp"), access=Access.READ)
            self.bb.register_key(key(side, "scene"), access=Access.READ)
        self._shown: dict[str, Grasp | None] = dict.fromkeys(sides)
        self.publisher = node.create_publisher(CompressedImage, topic, LATCHED)
        tree.add_post_tick_handler(self._post_tick)

    def _post_tick(self, tree: py_trees.trees.BehaviourTree) -> None:
        for side in self.sides:
            grasp_key = key(side, "grasp")
            grasp = self.bb.get(grasp_key) if self.bb.exists(grasp_key) else None
            if grasp is None or grasp is self._shown[side]:
                continue
            self._shown[side] = grasp
            self.publish(side, grasp, self.bb.get(key(side, "scene")))

    def publish(self, side: str, grasp: Grasp, scene: Scene) -> CompressedImage:
        score = "" if math.isnan(grasp.score) else f", score {grasp.score:.2f}"
        label = (
            f"{side} arm, {self.chooser}: {math.degrees(grasp.theta) % 180:.0f} deg{score}"
            f" (sample {grasp.attempts})"
        )
        image = trial_view_image(scene, grasp, label, self.table_z, self.opening, self.max_width)
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise RuntimeError("OpenCV could not encode the trial view as JPEG")
        msg = CompressedImage(format="jpeg", data=jpeg.tobytes())
        msg.header.frame_id = side
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(round(scene.stamp * 1e9), 10**9)
        self.publisher.publish(msg)
        return msg
