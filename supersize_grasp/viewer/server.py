"""The viewer's web server: the page, py_trees_js' files and a WebSocket per browser.

One asyncio loop serves HTTP and WebSockets (the ``websockets`` package) and owns the
:class:`Timeline`; in live mode a :class:`LiveSource` spins an rclpy node in its own thread and
hands each message to the loop with ``call_soon_threadsafe``, so the timeline needs no lock. Every
browser gets the same pushes (frames, trial views, trials, whether the tree node is there) and
asks for what it steps to (a frame, the transitions around it) on its own.

WebSocket protocol (JSON text):
    server -> page: ``hello`` (mode, source, frame range, trials, behaviour names), ``frame``
    (pushed: the newest, live; or the answer to ``get``), ``transitions``, ``trial``,
    ``source`` (publisher count, live), ``error``.
    page -> server: ``{"op": "get", "index": i}``,
    ``{"op": "transitions", "name": str | null, "around": i | null}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections.abc import Callable
from http import HTTPStatus
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .assets import page_includes, py_trees_js_assets
from .model import Timeline

__all__ = ["LiveSource", "ViewerHub", "start_server"]

TRANSITION_ROWS = 200  # rows per transitions answer: the table scrolls around the shown frame
_TYPES = {".js": "text/javascript", ".css": "text/css", ".jpg": "image/jpeg"}
_MAX_REQUEST = 4096  # bytes: the page sends small requests only


def _static(name: str) -> bytes:
    return (resources.files(__package__) / "static" / name).read_bytes()


def _response(status: HTTPStatus, body: bytes, content_type: str = "text/plain") -> Response:
    headers = Headers(
        [
            ("Content-Type", f"{content_type}; charset=utf-8"
             if content_type.startswith("text/") else content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-cache"),
        ]
    )  # fmt: skip
    return Response(status.value, status.phrase, headers, body)


class ViewerHub:
    """The timeline and the browsers watching it; every method runs on the loop's thread.

    Args:
        timeline: live (bounded, fed through ``on_*``) or a loaded recording
        mode: ``live`` or ``replay``
        source: what is shown, for the page's title bar (topic or file)
    """

    def __init__(self, timeline: Timeline, mode: str, source: str) -> None:
        self.timeline, self.mode, self.source = timeline, mode, source
        self.clients: set[ServerConnection] = set()
        self.publishers = 0
        assets = py_trees_js_assets()
        scripts, styles = page_includes(assets)
        self._assets = assets
        self._index = (
            _static("index.html")
            .decode()
            .replace(
                "<!-- py_trees_js -->",
                "\n".join(
                    [f'<link rel="stylesheet" href="/py_trees_js/{p}">' for p in styles]
                    + [f'<script src="/py_trees_js/{p}"></script>' for p in scripts]
                ),
            )
            .encode()
        )

    # --------------------------------------------------------------- HTTP

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Plain HTTP for everything but ``/ws``; same-origin WebSockets only."""
        path = urlsplit(request.path).path
        if path == "/ws":
            origin = request.headers.get("Origin")
            if origin is not None and urlsplit(origin).netloc != request.headers.get("Host"):
                return _response(HTTPStatus.FORBIDDEN, b"cross-origin WebSocket refused\n")
            return None  # the handshake goes on
        body = self._resource(path)
        if body is None:
            return _response(HTTPStatus.NOT_FOUND, b"not found\n")
        content_type = "text/html" if path == "/" else _TYPES[os.path.splitext(path)[1]]
        return _response(HTTPStatus.OK, body, content_type)

    def _resource(self, path: str) -> bytes | None:
        if path == "/":
            return self._index
        if path in ("/static/viewer.js", "/static/viewer.css"):
            return _static(path.rsplit("/", 1)[1])
        if path.startswith("/py_trees_js/") and os.path.splitext(path)[1] in _TYPES:
            return self._assets.get(path.removeprefix("/py_trees_js/"))
        stem = path.removeprefix("/trial_view/").removesuffix(".jpg")
        if path == f"/trial_view/{stem}.jpg" and stem.isdigit():
            return self.timeline.trial_view(int(stem))
        return None

    # --------------------------------------------------------------- WebSocket

    def hello(self) -> dict[str, Any]:
        t = self.timeline
        return {
            "type": "hello",
            "mode": self.mode,
            "source": self.source,
            "first": t.first,
            "last": t.last,
            "trials": t.trials,
            "names": sorted(t.behaviour_names),
            "publishers": self.publishers,
        }

    async def handler(self, ws: ServerConnection) -> None:
        """One browser: hello, then its requests until it goes."""
        self.clients.add(ws)
        try:
            await ws.send(json.dumps(self.hello()))
            async for text in ws:
                await ws.send(self.answer(text))
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(ws)

    def answer(self, text: str | bytes) -> str:
        """The reply to one request of a page."""
        try:
            request = json.loads(text)
            op = request["op"]
            if op == "get":
                return self._frame_message(int(request["index"]), pushed=False)
            if op == "transitions":
                name, around = request.get("name"), request.get("around")
                rows = self.timeline.transitions(
                    name if isinstance(name, str) and name else None,
                    int(around) if around is not None else None,
                    TRANSITION_ROWS,
                )
                return json.dumps({"type": "transitions", "name": name, "rows": rows})
            raise ValueError(f"unknown op {op!r}")
        except (ValueError, KeyError, TypeError) as e:
            return json.dumps({"type": "error", "message": f"bad request: {e}"})

    def _frame_message(self, index: int, pushed: bool) -> str:
        data = self.timeline.frame_json(index)
        if data is None:
            t = self.timeline
            return json.dumps(
                {"type": "error", "message": f"frame {index} is not kept ({t.first}..{t.last})"}
            )
        head = {"type": "frame", "pushed": pushed, "first": self.timeline.first}
        return json.dumps(head)[:-1] + ', "frame": ' + data.decode() + "}"  # not re-encoded

    # --------------------------------------------------------------- live feed

    def on_snapshot(self, msg) -> None:
        frame = self.timeline.add_snapshot(msg)
        broadcast(self.clients, self._frame_message(frame["index"], pushed=True))

    def on_trial_view(self, jpeg: bytes) -> None:
        self.timeline.add_trial_view(jpeg)

    def on_trial(self, msg) -> None:
        trial = self.timeline.add_trial(msg)
        broadcast(self.clients, json.dumps({"type": "trial", "trial": trial}))

    def on_publishers(self, count: int) -> None:
        if count != self.publishers:
            self.publishers = count
            broadcast(self.clients, json.dumps({"type": "source", "publishers": count}))


class LiveSource:
    """An rclpy node in a thread of its own that feeds the hub on the loop's thread.

    The subscriptions are latched where the publishers are (snapshots, trial views), so a viewer
    started late, or a tree node restarted, shows the current tree at once: DDS matches the new
    publisher by itself, nothing here reconnects by hand.
    """

    def __init__(
        self,
        hub: ViewerHub,
        loop: asyncio.AbstractEventLoop,
        snapshot_topic: str,
        trial_view_topic: str,
        trials_topic: str,
    ) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CompressedImage
        from supersize_grasp_interfaces.msg import TreeSnapshot, TrialRecord

        from supersize_grasp.nodes.trial_tree import TRIALS_QOS

        # reliable + transient-local: matches the latched publishers; deeper than their depth 1,
        # so that a burst waits here rather than being dropped
        latched = QoSProfile(
            depth=50,
            reliability=ReliabilityPolicy.RELIABLE,
            durability=DurabilityPolicy.TRANSIENT_LOCAL,
        )
        self.snapshot_topic = snapshot_topic
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node(f"viewer_{os.getpid()}", context=self.context)

        def to_loop(callback: Callable[[Any], None]) -> Callable[[Any], None]:
            return lambda msg: loop.call_soon_threadsafe(callback, msg)

        self.node.create_subscription(
            TreeSnapshot, snapshot_topic, to_loop(hub.on_snapshot), latched
        )
        self.node.create_subscription(
            CompressedImage,
            trial_view_topic,
            to_loop(lambda msg: hub.on_trial_view(bytes(msg.data))),
            latched,
        )
        self.node.create_subscription(TrialRecord, trials_topic, to_loop(hub.on_trial), TRIALS_QOS)
        publishers = to_loop(hub.on_publishers)
        self.node.create_timer(0.5, lambda: publishers(self.node.count_publishers(snapshot_topic)))
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self._spin, name="viewer-ros", daemon=True)
        self.thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        with contextlib.suppress(ExternalShutdownException):
            self.executor.spin()

    def close(self) -> None:
        self.executor.shutdown()
        self.thread.join(timeout=5.0)
        self.node.destroy_node()
        self.context.try_shutdown()


async def start_server(hub: ViewerHub, host: str, port: int) -> Server:
    """Listening (``port`` 0: a free one); raises ``OSError`` when the address is taken."""
    return await serve(
        hub.handler,
        host,
        port,
        process_request=hub.process_request,
        max_size=_MAX_REQUEST,
        compression=None,  # frames are small and local; deflate costs CPU the tree needs
    )
