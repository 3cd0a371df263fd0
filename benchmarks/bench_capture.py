"""How fast a new subscriber gets a whole head-camera frame, with our Fast DDS profile and without.

The trial tree's capture subscribes anew each trial (a simulated camera renders only while
watched). For each profile this starts the simulated Baxter, then N times subscribes to the head
camera's colour, depth and camera_info (as the capture does), and prints the wall seconds to the
first complete frame (the three with one stamp) and the share of frames that arrived whole over
the next --window s. "default" is Fast DDS's own transports with their default
buffers; "ours" is config/fastdds.xml. Each profile runs in a process of its own (the profile is
read when the process's first participant is made).

    python benchmarks/bench_capture.py --captures 8
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A default participant profile that changes nothing: Fast DDS's built-in transports.
FAST_DDS_DEFAULTS = """<?xml version="1.0" encoding="UTF-8" ?>
<dds xmlns="http://www.eprosima.com"><profiles>
<participant profile_name="defaults" is_default_profile="true"><rtps/></participant>
</profiles></dds>
"""


def one_profile(captures: int, window: float) -> None:
    """In a process whose environment names the profile: the simulator and the captures."""
    sys.path.insert(0, str(ROOT))  # tests.sdk_client
    from supersize_grasp.config import load_config
    from supersize_grasp.graph import sim_graph
    from supersize_grasp.launcher import GraphProcess
    from tests.sdk_client import CameraListener, SdkClient

    config = load_config(overrides={"simulator.objects.folder": "builtin:primitives"})
    graph = GraphProcess(sim_graph(), config=config)
    client = SdkClient(endpoints=False)
    try:
        client.wait_for(lambda: client.get("state") is not None, 120, "the simulator")
        firsts, shares = [], []
        for _ in range(captures):
            started = time.monotonic()
            listener = CameraListener()
            try:
                listener.frame(timeout=60)
                firsts.append(time.monotonic() - started)
                time.sleep(window)
                with listener.lock:
                    rgb, depth, info = (listener.stamps[k] for k in ("rgb", "depth", "info"))
                    frames = sorted(info)[1:]  # each frame's info goes out after its images
                    whole = sum(f in rgb and f in depth for f in frames)
                    shares.append(whole / max(len(frames), 1))
            finally:
                listener.close()
            time.sleep(0.5)
    finally:
        client.close()
        graph.shutdown()
    print(
        f"first whole frame after subscribing: median {statistics.median(firsts):.2f} s, "
        f"max {max(firsts):.2f} s; frames whole over {window:.0f} s: "
        f"{100 * statistics.mean(shares):.0f} % (mean of {captures} captures)",
        flush=True,
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--captures", type=int, default=8)
    parser.add_argument("--window", type=float, default=3.0, help="s of frames counted")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        one_profile(args.captures, args.window)
        return
    from supersize_grasp.graph import DDS_PROFILE, ENVIRONMENT

    with tempfile.TemporaryDirectory() as tmp:
        defaults = Path(tmp, "fast_dds_defaults.xml")
        defaults.write_text(FAST_DDS_DEFAULTS)
        for name, profile in (("default", defaults), ("ours", DDS_PROFILE)):
            print(f"{name} ({profile}):", flush=True)
            env = {**os.environ, **dict.fromkeys(ENVIRONMENT, str(profile))}
            command = [sys.executable, __file__, "--one", "--captures", str(args.captures)]
            subprocess.run([*command, "--window", str(args.window)], env=env, check=True)


if __name__ == "__main__":
    main()
