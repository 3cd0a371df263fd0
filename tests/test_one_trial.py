"""One trial everywhere: the same seeded scene and the same grasps, run by the behaviour tree
through ROS (the simulated Baxter's graph) and by the bulk collector through the simulator's
Python API, give the same records; a miss gives the same label on both.

The grasps are found on the bulk side (ground truth: object centres, a few angles): a miss on
the bare table, then a success, run in that order on both sides (a success moves its object: the
tree puts it down elsewhere; a miss that touched an object could move it apart on the two sides,
as timing differs). The tree chooses them with a test chooser that finds
each grasp's pixel and region in its own capture, as the bulk side does in its own.
"""

import math

import numpy as np
import py_trees
import pytest

from supersize_grasp.behaviors.collection import with_robot_topics
from supersize_grasp.behaviors.regions import Region, RegionFinder
from supersize_grasp.behaviors.robot import EnableRobot
from supersize_grasp.behaviors.trial import trial_subtree
from supersize_grasp.behaviors.trial_plan import RandomGrasp
from supersize_grasp.behaviors.trial_state import Grasp, TrialBehaviour, key
from supersize_grasp.bulk.collect import run_trial
from supersize_grasp.bulk.trial import park, run_grasp_trial
from supersize_grasp.config import load_config
from supersize_grasp.simulator.world import BaxterWorld
from tests.sim_tree import run_on_the_simulator

CONFIG = load_config(
    overrides={
        "simulator.objects.folder": "builtin:primitives",
        "simulator.seed": 3,
        "simulator.scene.n_objects": 6,
        "arms.right.enabled": False,
    }
)
# What the trial decides, whatever the timing: the same on both sides for every trial.
PLANNED = ("stage", "arm", "chooser", "roi", "angle", "angle_bin")
PLANNED += ("grasp_position", "grasp_orientation")
# What the physics gives. For the miss it cannot differ; for the lift it can: on a loaded machine
# (2 busy processes beside the suite) the tree's lift dropped the object in 2 of 6 runs where the
# bulk path's held it (see the issue 14 notes), so the lift's outcome is not compared here.
MEASURED = ("outcome", "object_id")


def fresh_world() -> BaxterWorld:
    """The scene the simulator node starts with (same configuration, same seed)."""
    world = BaxterWorld(CONFIG.simulator)
    world.reset_scene(split=CONFIG.simulator.ros.split)
    return world


def locate(x: float, y: float, camera, regions: list[Region]) -> tuple[float, float, Region]:
    """The pixel of table point (x, y) in this capture, and the region nearest to it."""
    u, v = camera.project(np.array([[x, y, CONFIG.trial.table_z]]))[0]

    def distance(r: Region) -> float:
        return math.hypot(
            max(r.x - u, 0.0, u - (r.x + r.width - 1)), max(r.y - v, 0.0, v - (r.y + r.height - 1))
        )

    return float(u), float(v), min(regions, key=distance)


def find_grasps() -> list[tuple[float, float, float]]:
    """A miss on the bare table (no object within 14 cm: it touches nothing, and both sides
    keep the same scene), then a grasp that lifts an object, found on fresh scenes and keeping
    its outcome when moved a little (the tree's motion differs from the bulk path's by timing,
    so a grasp on the edge of success could go either way there)."""
    workspace = CONFIG.arms.left.workspace
    world = fresh_world()
    objects = world.objects()
    world.close()
    centres = np.array([o.pose.position[:2] for o in objects])

    def clearance(x: float, y: float) -> float:
        return float(np.min(np.linalg.norm(centres - (x, y), axis=1)))

    spots = [
        (float(x), float(y))
        for x in np.linspace(workspace.x_min + 0.03, workspace.x_max - 0.03, 9)
        for y in np.linspace(workspace.y_min + 0.03, workspace.y_max - 0.03, 9)
    ]
    x, y = max(spots, key=lambda p: clearance(*p))
    assert clearance(x, y) > 0.14, f"no bare spot in the left half among {objects}"
    miss = (x, y, 0.0)

    def lifts_it(grasp, object_id) -> bool:
        world = fresh_world()
        park(world, CONFIG, "left")
        result = run_grasp_trial(world, CONFIG, "left", *grasp)
        world.close()
        # A firm grip, not an object pinched by the fingertips at full opening: that one slips
        # when the tree's lift stops and starts at waypoints on a loaded machine.
        firm = result.gripping and 10.0 < result.gripper_position < 80.0
        return firm and result.object_id == object_id

    def nearby(grasp, d: float = 0.003, turn: float = 0.03):
        gx, gy, theta = grasp
        c, s = d * math.cos(theta), d * math.sin(theta)
        yield from ((gx + c, gy + s, theta), (gx - c, gy - s, theta))  # along the finger axis
        yield from ((gx - s, gy + c, theta), (gx + s, gy - c, theta))  # across it
        yield from ((gx, gy, theta + turn), (gx, gy, theta - turn))

    for obj in objects:
        ox, oy = float(obj.pose.position[0]), float(obj.pose.position[1])
        inside = workspace.x_min + 0.03 < ox < workspace.x_max - 0.03
        if not (inside and workspace.y_min + 0.03 < oy < workspace.y_max - 0.03):
            continue
        for k in range(12):
            lift = (ox, oy, k * math.pi / 12)
            if lifts_it(lift, obj.object_id) and all(
                lifts_it(g, obj.object_id) for g in nearby(lift)
            ):
                return [miss, lift]
    pytest.fail(f"no grasp that lifts an object of {objects} robustly")


def bulk_records(grasps) -> list[dict]:
    """The trials as ``sim-collect`` runs them: park, capture, regions, trial."""
    world = fresh_world()
    finder = RegionFinder(CONFIG.trial.roi, CONFIG.trial.table_z)
    records = []
    for x, y, theta in grasps:
        park(world, CONFIG, "left")
        frame = world.render_head_camera()
        regions, _ = finder.find(frame.rgb, frame.depth, frame.model, CONFIG.arms.left.workspace)
        u, v, region = locate(x, y, frame.model, regions)
        grasp = RandomGrasp(region, u, v, x, y, theta)
        records.append(run_trial(world, CONFIG, frame, "left", grasp, stage=0, seed=0)["trial"])
    world.close()
    return records


class GivenGrasps(TrialBehaviour):
    """A chooser for this test: the next of the given table grasps, located in this capture."""

    def __init__(self, side, config, grasps) -> None:
        super().__init__(
            "Given grasp",
            side,
            config,
            read=[key(side, "scene"), key(side, "regions"), key(side, "trial")],
            write=[key(side, "grasp")],
        )
        self.grasps = list(grasps)
        self.current: tuple[float, float, float] | None = None

    def update(self):
        trial = self.read(key(self.side, "trial"))
        if trial.ik_failures == 0:  # a new trial; after a failed plan (e.g. a slow IK service
            if not self.grasps:  # on a loaded machine) the same grasp is tried again
                self.feedback_message = "no grasp left"  # a trial was not run as planned
                return py_trees.common.Status.FAILURE
            self.current = self.grasps.pop(0)
        x, y, theta = self.current
        scene = self.read(key(self.side, "scene"))
        u, v, region = locate(x, y, scene.camera, self.read(key(self.side, "regions")))
        self.bb.set(key(self.side, "grasp"), Grasp(u, v, x, y, theta, region), overwrite=True)
        return py_trees.common.Status.SUCCESS


@pytest.mark.slow
def test_tree_and_bulk_collector_run_the_same_trial(tmp_path):
    grasps = find_grasps()
    expected = bulk_records(grasps)
    assert [r["outcome"] for r in expected] == ["failure", "success"]

    def make_root(config, log):
        chooser = GivenGrasps("left", config, grasps)
        trials = py_trees.decorators.Repeat(
            "Two trials",
            trial_subtree("left", config, log, chooser=lambda side, c: chooser),
            num_success=2,
        )
        task = py_trees.composites.Sequence(
            "Trials", memory=True, children=[EnableRobot(config.robot), trials]
        )
        return with_robot_topics("Root", config, ["left"], task)

    store = run_on_the_simulator(tmp_path, make_root, CONFIG)
    trials = list(store.trials(labelled_only=False))
    store.close()
    assert len(trials) == 2
    for trial, record in zip(trials, expected, strict=True):
        stored = vars(trial)
        assert set(record) <= set(stored)
        assert {f: stored[f] for f in PLANNED} == {f: record[f] for f in PLANNED}, (stored, record)
        assert stored["grasp_pixel"] == pytest.approx(record["grasp_pixel"], abs=1e-6)
    miss, lift = (vars(t) for t in trials)
    assert {f: miss[f] for f in MEASURED} == {f: expected[0][f] for f in MEASURED}
    assert miss["force"] == pytest.approx(expected[0]["force"], abs=5.0)
    assert miss["gripper_position"] == pytest.approx(expected[0]["gripper_position"], abs=3.0)
    assert miss["message"].split(":")[0] == expected[0]["message"].split(":")[0] == "failure"
    assert lift["message"].split(":")[0] == lift["outcome"]  # labelled by the same rule
