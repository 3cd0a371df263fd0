"""The viewer answers only to its own names (against DNS rebinding): the allowlist on its own, and
the real viewer (``supersize-grasp view``) sent raw requests with forged Host and Origin headers
over a plain socket, as a browser on a rebound name would send them."""

from __future__ import annotations

import base64
import logging
import os
import socket
import subprocess
from http import HTTPStatus
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from websockets.datastructures import Headers
from websockets.http11 import Request

from supersize_grasp.cli import main
from supersize_grasp.viewer.model import Timeline
from supersize_grasp.viewer.server import HostAllowlist, ViewerHub, host_name

from .test_viewer import start_viewer, stop

ALLOWED = [
    "localhost:8765", "LocalHost:8765", "127.0.0.1:8765", "[::1]:8765",
    "[0:0:0:0:0:0:0:1]:8765", "robot.lan:8765", "192.168.1.20:8765",
]  # fmt: skip
REFUSED = [
    None, "", ":8765", "evil.example:8765", "localhost:8766", "localhost", "localhost:",
    "localhost.:8765", "localhost:8765:8765", "::1:8765", "[::2]:8765", "[::1", "[127.0.0.1]:8765",
    "user@localhost:8765", "localhost:8765/", "localhost :8765", "localhost.evil.example:8765",
    "127.0.0.1.nip.io:8765", "0.0.0.0:8765",
]  # fmt: skip


# ---------------------------------------------------------------------------- the allowlist


def test_allowlist_is_loopback_the_host_and_named_hosts_on_the_listened_port():
    allow = HostAllowlist.for_server("127.0.0.1", [8765], ["Robot.LAN", "192.168.1.20"])
    assert allow.names == {"localhost", "127.0.0.1", "[::1]", "robot.lan", "192.168.1.20"}
    assert [v for v in ALLOWED if not allow.allows_host(v)] == []
    assert [v for v in REFUSED if allow.allows_host(v)] == []
    assert HostAllowlist.for_server("127.0.0.1", [80]).allows_host("localhost")  # port implied
    assert HostAllowlist.for_server("Robot-PC", [8765]).allows_host("robot-pc:8765")
    assert HostAllowlist.for_server("::1", [8765]).names == {"localhost", "127.0.0.1", "[::1]"}


@pytest.mark.parametrize("wildcard", ["0.0.0.0", "::", ""])
def test_a_wildcard_address_names_nothing_the_user_names_the_computer(wildcard):
    allow = HostAllowlist.for_server(wildcard, [8765], ["robot-pc"])
    assert allow.names == {"localhost", "127.0.0.1", "[::1]", "robot-pc"}
    assert not allow.allows_host("0.0.0.0:8765") and not allow.allows_host("[::]:8765")


def test_origin_must_be_a_page_of_an_allowed_host():
    allow = HostAllowlist.for_server("127.0.0.1", [8765], ["robot.lan"])
    for origin in ("http://localhost:8765", "http://[::1]:8765", "http://ROBOT.lan:8765"):
        assert allow.allows_origin(origin), origin
    for origin in (
        "null", "", "http://evil.example:8765", "https://localhost:8765", "ws://localhost:8765",
        "http://localhost:8766", "http://localhost", "http://localhost:8765/page",
        "http://user@localhost:8765", "http://[::1:8765", "localhost:8765",
    ):  # fmt: skip
        assert not allow.allows_origin(origin), origin


def test_names_that_are_not_one_are_refused_clearly():
    assert host_name("Robot-PC") == "robot-pc"
    assert host_name("::1") == host_name("[0::1]") == "[::1]"
    assert host_name("[FE80::1]") == "[fe80::1]"
    for bad in ("robot-pc:8765", "http://robot-pc", "", "a b", "[robot-pc]", "robot-pc.", "*"):
        with pytest.raises(ValueError, match="give the name alone, without scheme or port"):
            host_name(bad)
    with pytest.raises(ValueError, match="'robot-pc:8765' is not a host name"):
        HostAllowlist.for_server("127.0.0.1", [8765], ["robot-pc:8765"])


def test_the_hub_refuses_everything_until_it_listens(caplog):
    """The connection is a stand-in (only its peer address is read); the request is real."""
    hub = ViewerHub(Timeline(10), "live", "/t")
    peer = SimpleNamespace(remote_address=("127.0.0.1", 50000))
    request = Request("/", Headers([("Host", "localhost:8765")]))
    with caplog.at_level(logging.WARNING, logger="supersize_grasp.viewer.server"):
        assert hub.process_request(peer, request).status_code == HTTPStatus.FORBIDDEN
    assert "refused Host 'localhost:8765' from '127.0.0.1'" in caplog.text
    hub.allowlist = HostAllowlist.for_server("127.0.0.1", [8765])
    assert hub.process_request(peer, request).status_code == HTTPStatus.OK


# ---------------------------------------------------------------------------- the real viewer


def status(port: int, host: str | None, *headers: str, ws: bool = False, path: str = "/") -> int:
    """The status code the viewer answers one raw request with, its headers exactly as given."""
    lines = [f"GET {'/ws' if ws else path} HTTP/1.1"]
    lines += [] if host is None else [f"Host: {host}"]
    lines += headers
    if ws:
        key = base64.b64encode(os.urandom(16)).decode()
        lines += ["Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                  "Sec-WebSocket-Version: 13"]  # fmt: skip
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        while b"\r\n" not in answer:
            chunk = s.recv(4096)
            assert chunk, f"the viewer closed the connection without answering: {answer!r}"
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def output_of(viewer: subprocess.Popen) -> str:
    stop(viewer)
    return viewer.stdout.read()


def test_forged_host_and_origin_get_403_and_are_logged():
    viewer, url = start_viewer("--allow-host", "Robot.LAN")
    port = urlsplit(url).port
    other = port + 1 if port < 65535 else port - 1
    try:
        for name in ("localhost", "127.0.0.1", "[::1]", "robot.lan", "LOCALHOST"):
            host = f"{name}:{port}"
            assert status(port, host) == 200, host
            assert status(port, host, path="/static/viewer.js") == 200, host
            assert status(port, host, f"Origin: http://{host}", ws=True) == 101, host
        assert status(port, f"localhost:{port}", ws=True) == 101  # no Origin: not a browser

        evil = f"evil.example:{port}"
        assert status(port, evil) == 403
        assert status(port, evil, f"Origin: http://{evil}", ws=True) == 403
        wrong_port = f"localhost:{other}"
        assert status(port, wrong_port) == 403
        assert status(port, wrong_port, f"Origin: http://{wrong_port}", ws=True) == 403
        assert status(port, None) == 403
        assert status(port, None, ws=True) == 403
        assert status(port, f"localhost:{port}", f"Host: {evil}") == 403  # two Host headers
        assert status(port, f"localhost:{port}", f"Origin: http://{evil}", ws=True) == 403
        assert status(port, f"localhost:{port}", "Origin: null", ws=True) == 403
        assert status(port, f"localhost:{port}", f"Origin: http://{evil}") == 403
    finally:
        log = output_of(viewer)
    assert f"refused Host '{evil}' from '127.0.0.1'" in log
    assert f"refused Host '{wrong_port}'" in log
    assert "refused Host (none)" in log
    assert f"refused Origin 'http://{evil}' (with Host 'localhost:{port}')" in log
    assert "not one of 127.0.0.1, [::1], localhost, robot.lan (--allow-host NAME adds" in log


def test_all_interfaces_answer_to_the_names_given_only():
    viewer, url = start_viewer("--host", "0.0.0.0", "--allow-host", "robot.lan")
    port = urlsplit(url).port
    try:
        assert status(port, f"127.0.0.1:{port}") == 200  # the URL it printed
        assert status(port, f"robot.lan:{port}", f"Origin: http://robot.lan:{port}", ws=True) == 101
        assert status(port, f"0.0.0.0:{port}") == 403
        assert status(port, f"evil.example:{port}") == 403
    finally:
        log = output_of(viewer)
    assert "listening on 0.0.0.0, answering to 127.0.0.1, [::1], localhost, robot.lan only" in log


def test_a_name_with_a_port_is_refused_before_listening(capsys):
    assert main(["view", "--allow-host", "robot.lan:8765"]) == 2
    assert "supersize-grasp view: --allow-host 'robot.lan:8765' is not a host name" in (
        capsys.readouterr().err
    )
