"""How the simulated Baxter's ROS node runs the world: pace, publishing rates, start state."""

from typing import Literal

from pydantic import Field

from .base import StrictModel


class SimNodeConfig(StrictModel):
    stand_in: Literal["none", "real"] = Field(
        "none",
        description="real: look like the real robot behind ros1_bridge from outside, to try the "
        "real profile end to end: wall-clock stamps, real-time pace (real_time_factor 1), no "
        "/clock, no lockstep, no refill (~/reset_scene), oracle or camera pose (the camera_pose "
        "node publishes calibration.file, as on a real robot)",
    )
    camera_clock_offset: float = Field(
        0.0,
        description="s added to the head camera's stamps: a camera computer whose clock is off "
        "(negative: behind), for trying camera.max_clock_skew and the preflight",
    )
    real_time_factor: float = Field(
        0.0, ge=0.0, description="sim s per wall s to keep to; 0: as fast as the physics runs"
    )
    lockstep: bool = Field(
        True,
        description="keep in step with the behaviour trees that publish trial.tick_topic: the "
        "physics waits rather than run more than lockstep_lead ahead of a tree's last tick, so "
        "a tree ticks every trial.tick_period of robot time, as on the real robot, however slow "
        "the machine; trees silent for lockstep_timeout no longer hold it",
    )
    lockstep_lead: float = Field(
        0.1, gt=0.0, description="s (sim time) the physics may run past a tree's last tick"
    )
    lockstep_timeout: float = Field(
        1.0, gt=0.0, description="wall s without a tick after which a tree no longer holds back"
    )
    state_rate: float = Field(
        100.0, gt=0.0, description="Hz (sim time): joint, endpoint and gripper states, as Baxter"
    )
    robot_state_rate: float = Field(20.0, gt=0.0, description="Hz (sim time): /robot/state")
    clock_rate: float | None = Field(
        None,
        gt=0.0,
        description="Hz (sim time) of /clock; None: the trees' tick rate (1 / trial.tick_period), "
        "all that their timers need to tick every period of robot time (each /clock message "
        "costs every node with use_sim_time an executor callback); at most the control rate "
        "(1 / simulator.physics.control_period) takes effect",
    )
    max_state_rate_wall: float = Field(
        300.0,
        ge=0.0,
        description=(
            "Hz (wall): cap on /clock and the state topics when faster than real time, so "
            "Python clients are not handed more than they can read; 0: no cap"
        ),
    )
    camera_rate: float = Field(
        10.0, gt=0.0, description="Hz (sim time) of head-camera frames, rendered only if watched"
    )
    max_camera_rate_wall: float = Field(
        4.0,
        ge=0.0,
        description="Hz (wall): cap on head-camera frames when faster than real time (a frame is "
        "~3.8 MB over DDS and ~0.15 s of the physics thread: uncapped, a capture floods both); "
        "0: no cap",
    )
    hand_cameras: bool = Field(False, description="also render and publish the hand cameras")
    start_enabled: bool = Field(False, description="the real robot starts disabled")
    auto_refill: bool = Field(
        True,
        description="refill the table when it is empty, objects fell off or an arm's grips keep "
        "coming up empty (the human)",
    )
    oracle_budget: int = Field(
        20,
        ge=1,
        description="grasps the oracle tries per choice, each the whole trial on a copy of the "
        "scene (the first that lifts an object in every check is chosen)",
    )
    oracle_checks: int = Field(
        4,
        ge=0,
        description="tries again of each grasp that lifts, jittered by oracle_jitter: a robot "
        "that is not exact needs grasps that lift also a few mm off (0: the first that lifts)",
    )
    oracle_jitter: tuple[float, float] = Field(
        (0.006, 5.0),
        description="(m, deg): the largest offset in x and y and in angle of a check; measured "
        "through the tree, the arm grips 3-6 mm from where the copy's arm grips",
    )
    oracle_seconds: float | None = Field(
        None,
        gt=0.0,
        description="s (wall clock) after which the oracle tries no new candidate and answers "
        "with the best so far (the one under way finishes its checks); at most a third of "
        "learning.scorer_timeout, as the two arms' choices queue (None: that third)",
    )
    split: Literal["train", "novel"] = Field("train", description="object split on the table")
    viewer: bool = Field(False, description="open MuJoCo's interactive viewer (needs a display)")
