"""The viewer's web server: the page, py_trees_js' files and a WebSocket per browser.

One asyncio loop serves HTTP and WebSockets (the ``websockets`` package) and owns the
:class:`Timeline`; in live mode a :class:`LiveSource` spins an rclpy node in its own thread and
hands each message to the loop with ``call_soon_threadsafe``, so the timeline needs no lock. Every
browser gets the same pushes (frames, trial views, trials, whether the tree node is there) and
asks for what it steps to (a frame, the transitions around it) on its own.

It answers only to the Host names of a :class:`HostAllowlist` (with the port it listens on), and
a WebSocket or request with an Origin only from one of them: a page of another site whose name
resolves to this computer (DNS rebinding) gets 403 and cannot read the tree, blackboard or images.

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
import ipaddress
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
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

__all__ = [
    "LOCAL_HOSTS",
    "WILDCARDS",
    "HostAllowlist",
    "LiveSource",
    "ViewerHub",
    "host_name",
    "start_server",
]

TRANSITION_ROWS = 200  # rows per transitions answer: the table scrolls around the shown frame
_TYPES = {".js": "text/javascript", ".css": "text/css", ".jpg": "image/jpeg"}
_MAX_REQUEST = 4096  # bytes: the page sends small requests only
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")  # always answered to
WILDCARDS = ("", "0.0.0.0", "::")  # addresses to listen on, never a name a browser uses
_NAME = re.compile(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?")
_HOST_PORT = re.compile(r"(?P<name>\[[^\]]*\]|[^:\[\]]*)(?::(?P<port>[0-9]{1,5}))?")
_SHOWN = 100  # characters of a refused header kept in the log

_log = logging.getLogger(__name__)


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


def host_name(text: str) -> str:
    """``text`` as allowlists keep it: lower case, IPv6 in brackets; ``ValueError`` says why not."""
    name = text.lower()
    address = name[1:-1] if name.startswith("[") and name.endswith("]") else name
    if ":" in address:
        with contextlib.suppress(ValueError):
            return f"[{ipaddress.IPv6Address(address).compressed}]"
    elif _NAME.fullmatch(name):
        return name
    raise ValueError(
        f"{text!r} is not a host name or address: give the name alone, without scheme or port"
        " (e.g. robot-pc, 192.168.1.20, [fe80::1])"
    )


def _host_port(value: str, default_port: int) -> tuple[str, int] | None:
    match = _HOST_PORT.fullmatch(value)
    if match is None:
        return None
    try:
        name = host_name(match["name"])
    except ValueError:
        return None
    return name, int(match["port"]) if match["port"] else default_port


@dataclass(frozen=True)
class HostAllowlist:
    """The ``host:port`` values the viewer answers to, against DNS rebinding.

    A browser sends the name it was given in the Host header, so a page of ``evil.example`` whose
    name resolves to 127.0.0.1 still says ``Host: evil.example``; only names this computer is
    known by pass. Listening on a wildcard (0.0.0.0) names nothing: the computer's own names and
    addresses have to be given (``extra``).
    """

    names: frozenset[str]
    ports: frozenset[int]

    @classmethod
    def for_server(
        cls, host: str, ports: Iterable[int], extra: Iterable[str] = ()
    ) -> HostAllowlist:
        """Loopback names, ``host`` unless a wildcard, and ``extra`` (``ValueError``: a bad one)."""
        names = {*LOCAL_HOSTS, *(host_name(name) for name in extra)}
        if host not in WILDCARDS:
            names.add(host_name(host))
        return cls(frozenset(names), frozenset(ports))

    def allows_host(self, value: str | None, default_port: int = 80) -> bool:
        """Whether a Host header (``name[:port]``) names this server."""
        split = None if value is None else _host_port(value, default_port)
        return split is not None and split[0] in self.names and split[1] in self.ports

    def allows_origin(self, value: str) -> bool:
        """Whether an Origin header is a page this server served (plain HTTP, an allowed host)."""
        try:
            parts = urlsplit(value)
        except ValueError:
            return False
        return (
            parts.scheme == "http"
            and not (parts.path or parts.query or parts.fragment or "@" in parts.netloc)
            and self.allows_host(parts.netloc)
        )


class ViewerHub:
    """The timeline and the browsers watching it; every method runs on the loop's thread.

    Args:
        timeline: live (bounded, fed through ``on_*``) or a loaded recording
        mode: ``live`` or ``replay``
        source: what is shown, for the page's title bar (topic or file)
    """

    def __init__(self, timeline: Timeline, mode: str, source: str) -> None:
        self.timeline, self.mode, self.source = timeline, mode, source
        self.allowlist: HostAllowlist | None = None  # set once listening; until then all refused
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
        """Plain HTTP for everything but ``/ws``, to allowed Host and Origin names only."""
        refused = self._refusal(request)
        if refused is not None:
            _log.warning(
                "refused %s from %s: not one of %s (--allow-host NAME adds a name)",
                refused,
                _shown(connection.remote_address[0]) if connection.remote_address else "?",
                ", ".join(sorted(self.allowlist.names)) if self.allowlist else "(not listening)",
            )
            return _response(
                HTTPStatus.FORBIDDEN,
                f"{refused} is not allowed: to browse the viewer under another name, start it"
                " with --allow-host NAME\n".encode(),
            )
        path = urlsplit(request.path).path
        if path == "/ws":
            return None  # the handshake goes on
        body = self._resource(path)
        if body is None:
            return _response(HTTPStatus.NOT_FOUND, b"not found\n")
        content_type = "text/html" if path == "/" else _TYPES[os.path.splitext(path)[1]]
        return _response(HTTPStatus.OK, body, content_type)

    def _refusal(self, request: Request) -> str | None:
        """What names another site in ``request`` (its Host, or Origin), None when nothing."""
        hosts = request.headers.get_all("Host")
        origins = request.headers.get_all("Origin")
        host = f"Host {', '.join(map(_shown, hosts)) or '(none)'}"
        allow = self.allowlist
        if allow is None or len(hosts) != 1 or not allow.allows_host(hosts[0]):
            return host
        if len(origins) > 1 or (origins and not allow.allows_origin(origins[0])):
            return f"Origin {', '.join(map(_shown, origins))} (with {host})"
        return None

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

        from supersize_grasp.qos import TRIALS_QOS

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


def _shown(value: str) -> str:
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "...")


async def start_server(
    hub: ViewerHub, host: str, port: int, allow_hosts: Iterable[str] = ()
) -> Server:
    """Listening (``port`` 0: a free one) and answering to the loopback names, ``host`` and
    ``allow_hosts`` only; raises ``OSError`` when the address is taken, ``ValueError`` for a
    name that is not one."""
    allowlist = HostAllowlist.for_server(host, (), allow_hosts)
    server = await serve(
        hub.handler,
        host,
        port,
        process_request=hub.process_request,
        max_size=_MAX_REQUEST,
        compression=None,  # frames are small and local; deflate costs CPU the tree needs
    )
    # port 0 on a name with several addresses gives each socket a port of its own
    hub.allowlist = replace(allowlist, ports=frozenset(s.getsockname()[1] for s in server.sockets))
    return server
