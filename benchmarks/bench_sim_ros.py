"""What the Baxter SDK's ROS 2 interface adds to a grasp trial, against the plain-Python API.

The same scripted random trial (above, descend, grip, lift, read the gripper, release; heights from
the configuration, no put-down) is run N times through `BaxterWorld` directly (`run_grasp_trial`)
and N times through the simulated Baxter node's topics and services by a client in this process
that does what that function does, step by step: one IK request per trial for the whole path, joint
commands, the gripper's state. The client subscribes to what it uses, as the trial tree does (robot
state, joint states, gripper states) and waits for the gripper's echo of each command's sequence
number, as the tree does. Prints wall seconds per trial for both (the API is timed before and after
the ROS run: a shared machine drifts), and the CPU seconds of the simulator process and of the
client. No tree, camera or store.

    python benchmarks/bench_sim_ros.py --trials 30
    python benchmarks/bench_sim_ros.py --config uncapped.yaml  # e.g. max_state_rate_wall: 0
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.sdk_client

from baxter_core_msgs.msg import EndEffectorCommand

from supersize_grasp.behaviors.motion import STILL_SPEED
from supersize_grasp.behaviors.trial_plan import plan_trial
from supersize_grasp.bulk.trial import run_grasp_trial
from supersize_grasp.config import load_config
from supersize_grasp.geometry import top_down_quaternion
from supersize_grasp.graph import sim_graph
from supersize_grasp.launcher import GraphProcess
from supersize_grasp.simulator.world import BaxterWorld
from tests.sdk_client import SdkClient


def targets(config, n: int, seed: int) -> list[tuple[float, float, float]]:
    rng = np.random.default_rng(seed)
    return [
        (rng.uniform(0.5, 0.7), rng.uniform(0.1, 0.3), rng.uniform(0.0, math.pi)) for _ in range(n)
    ]


def api_trials(config, grasps, when: str) -> float:
    world = BaxterWorld(config.simulator)
    world.reset_scene()
    start, sim_start = time.perf_counter(), world.time
    for x, y, theta in grasps:
        run_grasp_trial(world, config, "left", x, y, theta)
    wall = (time.perf_counter() - start) / len(grasps)
    print(
        f"Python API ({when}): {wall:.3f} s wall and "
        f"{(world.time - sim_start) / len(grasps):.2f} s simulated per trial (one core)"
    )
    return wall


def ros_follow(client: SdkClient, path: list[dict[str, float]], tol: float = 0.01) -> None:
    """The API trial's path following over topics: each waypoint to 0.02 rad, the last to
    ``tol``, each ending early when the arm stalls (fingers resting on an object)."""
    for i, joints in enumerate(path):
        client.move_to("left", joints, tol=0.02 if i < len(path) - 1 else tol, stall=STILL_SPEED)


def ros_trial(client: SdkClient, config, x: float, y: float, theta: float) -> None:
    """``run_grasp_trial`` (``trial.put_down: false``) step by step through the SDK's topics and
    services: one IK request for the whole path (the service takes a list of poses)."""
    plan = plan_trial(config.trial, x, y, theta)
    quat = top_down_quaternion(theta)
    down, up = plan.heights(plan.z_above, plan.z_grasp), plan.heights(plan.z_grasp, plan.z_lift)
    zs = [plan.z_above, *down, *up]
    answers = client.solve_ik_path("left", [(x, y, z) for z in zs], quat)
    if not all(ok for ok, _ in answers):
        return
    joints = [j for _, j in answers]
    above, joints = joints[0], joints[1:]
    down_path, up_path = joints[: len(down)], joints[len(down) :]

    release = client.gripper_command("left", EndEffectorCommand.CMD_RELEASE)
    client.move_to("left", above, stall=STILL_SPEED)
    client.wait_gripper("left", release)
    ros_follow(client, down_path)
    client.run_gripper("left", EndEffectorCommand.CMD_GRIP)
    ros_follow(client, up_path)
    client.wait_sim(config.trial.label_settle)  # a slipping object falls before the label
    client.get("gripper_left")  # the label
    client.run_gripper("left", EndEffectorCommand.CMD_RELEASE)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--config", action="append", default=[], help="YAML over the defaults")
    args = parser.parse_args(argv)
    os.environ.setdefault("ROS_DOMAIN_ID", "79")
    overrides = {"simulator.ros.auto_refill": False, "trial.put_down": False}
    config = load_config(args.config, overrides=overrides)
    grasps = targets(config, args.trials, seed=1)
    api_before = api_trials(config, grasps, "before")
    graph = GraphProcess(sim_graph(), config=config)
    client = SdkClient("bench_client", endpoints=False)  # the tree's subscriptions
    try:
        client.wait_for(lambda: client.get("state") is not None, 120, "the simulator")
        client.enable()
        client.calibrate("left")
        own_before = resource.getrusage(resource.RUSAGE_SELF)
        sim_pid = graph.processes["sim_baxter"].pid
        sim_before = _cpu(sim_pid)
        start, sim_start = time.perf_counter(), client.sim_time()
        for x, y, theta in grasps:
            ros_trial(client, config, x, y, theta)
        wall = (time.perf_counter() - start) / len(grasps)
        sim_seconds = (client.sim_time() - sim_start) / len(grasps)
        sim_cpu = (_cpu(sim_pid) - sim_before) / len(grasps)
        own = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = own.ru_utime + own.ru_stime - own_before.ru_utime - own_before.ru_stime
        client_cpu /= len(grasps)
    finally:
        client.close()
        graph.shutdown()
    print(
        f"ROS 2 (SDK topics/services): {wall:.3f} s wall and {sim_seconds:.2f} s simulated per "
        f"trial; CPU per trial: simulator {sim_cpu:.3f} s + client {client_cpu:.3f} s"
    )
    api = (api_before + api_trials(config, grasps, "after")) / 2  # a shared machine drifts
    cpu = sim_cpu + client_cpu
    print(
        f"ROS interface adds {wall / api - 1:+.0%} wall and {cpu / api - 1:+.0%} CPU "
        f"(against the mean of the API runs, {api:.3f} s)"
    )


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
