"""Watch a behaviour tree in the browser, live or from a recorded session.

Serves a page that draws the tree with py_trees_js (statuses, feedback, the blackboard on the
visited path, tick statistics) beside the latest trial view (head image, ROI, grasp, heat map),
with a timeline to step back through, a table of status transitions filtered by behaviour, and a
jump to any trial. Live, it follows the tree node's snapshot topic (set ROS_DOMAIN_ID to the
tree's domain) and keeps following when the node restarts; with --replay it plays a session
recorded by `collect` (<data>/sessions/<session>.mcap). Any number of browsers may watch.
--robot NAME picks a fleet robot's tree (its topics under /NAME), live or in its recording.

It listens on 127.0.0.1 only, unless --host says otherwise. From another computer, forward the
port over SSH rather than opening it:  ssh -L 8765:localhost:8765 robot-pc  and browse
http://localhost:8765/ there. Stop it with Ctrl-C.

It answers only to the names localhost, 127.0.0.1, [::1], the --host given and each --allow-host,
with its own port: a page of another site whose name resolves to this computer (DNS rebinding)
gets 403, and the refusal is logged. With --host 0.0.0.0 this computer's names and addresses are
not known in advance: name those other computers browse to, e.g.
  supersize-grasp view --host 0.0.0.0 --allow-host robot-pc --allow-host 192.168.1.20
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import sys
from pathlib import Path

DEFAULT_PORT = 8765
TOPICS = (
    ("--topic", "/trial_tree/snapshots", "snapshot topic"),
    ("--trial-view-topic", "/trial_tree/trial_view", "annotated head images"),
    ("--trials-topic", "/trials", "finished trials"),
)


def add_arguments(parser) -> None:
    parser.add_argument(
        "--replay", type=Path, metavar="SESSION.mcap", help="play back a recorded session"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this computer; 0.0.0.0: all interfaces,"
        " then name this computer with --allow-host)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer to this host name or address, e.g. robot-pc or 192.168.1.20"
        " (repeatable); only localhost, 127.0.0.1, [::1] and --host are answered otherwise",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"0: any free port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--robot", default="", help="a fleet robot's tree: its topics under /ROBOT (default: none)"
    )
    for option, topic, what in TOPICS:
        parser.add_argument(option, help=f"{what} (default {topic}, under /ROBOT with --robot)")
    parser.add_argument(
        "--history",
        type=int,
        default=2000,
        help="live snapshots kept for stepping back (default %(default)s)",
    )


def run(args, config) -> int:
    from supersize_grasp.fleet import namespaced, robot_namespace
    from supersize_grasp.viewer.assets import AssetError
    from supersize_grasp.viewer.model import Timeline
    from supersize_grasp.viewer.recording import RecordingError, load_recording
    from supersize_grasp.viewer.server import WILDCARDS, ViewerHub, host_name

    try:
        namespace = robot_namespace(args.robot)
    except ValueError as e:
        return _fail(f"--robot: {e}")
    for option, topic, _ in TOPICS:
        attribute = option.removeprefix("--").replace("-", "_")
        if getattr(args, attribute) is None:
            setattr(args, attribute, namespaced(topic, namespace))
    if not 0 <= args.port <= 65535:
        return _fail(f"--port {args.port}: not a port number (0-65535)")
    named = [] if args.host in WILDCARDS else [("--host", args.host)]
    for option, name in named + [("--allow-host", name) for name in args.allow_host]:
        try:
            host_name(name)
        except ValueError as e:
            return _fail(f"{option} {e}")
    if args.history < 1:
        return _fail(f"--history {args.history}: keep at least 1 snapshot")
    try:
        if args.replay is not None:
            timeline = load_recording(
                args.replay, args.topic, args.trial_view_topic, args.trials_topic
            )
            hub = ViewerHub(timeline, "replay", str(args.replay))
        else:
            hub = ViewerHub(Timeline(args.history), "live", args.topic)
    except (RecordingError, AssetError) as e:
        return _fail(str(e))
    return asyncio.run(_serve(hub, args))


def _fail(message: str) -> int:
    print(f"supersize-grasp view: {message}", file=sys.stderr)
    return 2


async def _serve(hub, args) -> int:
    from supersize_grasp.viewer.server import WILDCARDS, LiveSource, start_server

    logging.basicConfig(format="supersize-grasp view: %(message)s", level=logging.WARNING)
    loop = asyncio.get_running_loop()
    try:
        server = await start_server(hub, args.host, args.port, args.allow_host)
    except OSError as e:
        reason = "address already in use" if e.errno == errno.EADDRINUSE else e.strerror or e
        print(
            f"supersize-grasp view: cannot listen on {args.host}:{args.port}: {reason}"
            + (" (--port 0 picks a free one)" if e.errno == errno.EADDRINUSE else ""),
            file=sys.stderr,
        )
        return 1
    live = None
    if hub.mode == "live":
        live = LiveSource(hub, loop, args.topic, args.trial_view_topic, args.trials_topic)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    host, port = server.sockets[0].getsockname()[:2]
    if args.host in WILDCARDS:  # not a name the viewer answers to
        host = "::1" if ":" in host else "127.0.0.1"
    shown = f"[{host}]" if ":" in host else host
    what = f"{len(hub.timeline)} snapshots of {hub.source}" if live is None else hub.source
    print(f"viewer on http://{shown}:{port}/ ({hub.mode}: {what}); Ctrl-C to stop", flush=True)
    if args.host in WILDCARDS or args.allow_host:
        names = ", ".join(sorted(hub.allowlist.names))
        print(
            f"listening on {args.host or 'all addresses'}, answering to {names} only"
            " (--allow-host NAME adds a name)",
            flush=True,
        )
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        if live is not None:
            live.close()
    return 0
