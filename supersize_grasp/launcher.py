"""Start a node graph as processes, like ``ros2 launch`` does, where ``launch`` is not installed.

Each node runs as ``python -m <module> --ros-args -r __node:=<name> --params-file <file>`` (a fleet
robot's with ``-r __ns:=/<robot> -r /clock:=clock``), through a few lines that keep a Ctrl-C during
its imports quiet, in its own process group. Ctrl-C (or SIGTERM) stops every node with SIGINT,
then SIGTERM, then SIGKILL; when a required node exits, the others are stopped too (launch's
``on_exit=Shutdown()``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from .config import Config, to_yaml
from .graph import ARGUMENTS, CLOCK_REMAP, ENVIRONMENT, NodeSpec


def node_environment(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for a node of ours: this interpreter's prefix on ``AMENT_PREFIX_PATH`` when our
    packages are installed there (the venv), so that nodes find message definitions in the ament
    index without a sourced shell, as ``.venv/bin/supersize-grasp`` promises; and the graphs'
    ``ENVIRONMENT`` where the user's leaves a variable unset."""
    environment = dict(env)
    prefixes = [p for p in environment.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    if sys.prefix not in prefixes and Path(sys.prefix, "share", "ament_index").is_dir():
        environment["AMENT_PREFIX_PATH"] = os.pathsep.join([*prefixes, sys.prefix])
    for name, value in ENVIRONMENT.items():
        environment[name] = environment.get(name) or value
    return environment


# ``python -m MODULE``, except that Ctrl-C while the node still imports ends it quietly with
# status 130 instead of a KeyboardInterrupt traceback (a graph stopped during its start-up).
# SIGINT is ignored from the fork (see _prepare_node) until this takes it over.
_NODE_MAIN = """\
import signal, sys
try:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import runpy
    runpy.run_module(sys.argv.pop(1), run_name="__main__", alter_sys=True)
except KeyboardInterrupt:
    sys.exit(130)
"""


def exit_on_sigterm() -> None:
    """SIGTERM ends a verb as Ctrl-C does: ``finally`` blocks and ``with`` exits run (graphs
    stop, files close) and the exit status is 143, as a shell reports a terminated process."""

    def on_sigterm(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_sigterm)


def _prepare_node() -> None:
    """Runs in each node process before exec: the kernel kills it when the runner dies, even by
    SIGKILL, so no node outlives a killed ``supersize-grasp`` (Linux; elsewhere a no-op); and
    SIGINT is ignored until ``_NODE_MAIN`` can turn it into a quiet exit (a Ctrl-C in the
    interpreter's own start-up would print a traceback; shutdown's SIGTERM still ends it)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class GraphProcess:
    """The running processes of one graph."""

    def __init__(
        self,
        specs: Sequence[NodeSpec],
        config: Config | None = None,
        env: Mapping[str, str] | None = None,
        arguments: Mapping[str, bool] | None = None,
    ) -> None:
        chosen = {**{k: v[0] for k, v in ARGUMENTS.items()}, **(arguments or {})}
        self.specs = [s for s in specs if s.starts(chosen)]
        self._tmp = tempfile.TemporaryDirectory(prefix="supersize_grasp_graph_")
        self.processes: dict[str, subprocess.Popen] = {}
        environment = node_environment(os.environ if env is None else env)
        config_file = None
        if config is not None:  # already validated: every node gets the same effective config
            config_file = Path(self._tmp.name, "config.yaml")
            config_file.write_text(to_yaml(config, comments=False))
        try:
            self._start(environment, config_file)
        except BaseException:  # a signal or an error mid-start: no node is left running
            self.shutdown()
            raise

    def _start(self, environment: Mapping[str, str], config_file: Path | None) -> None:
        for spec in self.specs:
            parameters = dict(spec.parameters)
            if config_file:
                parameters["config_file"] = str(config_file)
            params_file = Path(self._tmp.name, f"{spec.name}.yaml")
            key = f"{spec.namespace}/{spec.name}" if spec.namespace else spec.name
            params_file.write_text(yaml.safe_dump({key: {"ros__parameters": parameters}}))
            command = [
                sys.executable,
                "-c",
                _NODE_MAIN,
                spec.module,
                "--ros-args",
                "-r",
                f"__node:={spec.name}",
                "--params-file",
                str(params_file),
            ]
            if spec.namespace:  # a fleet robot's: its names and its clock under it
                command += ["-r", f"__ns:={spec.namespace}"]
                command += [a for k, v in CLOCK_REMAP.items() for a in ("-r", f"{k}:={v}")]
            self.processes[spec.name] = subprocess.Popen(
                command,
                env=environment,
                start_new_session=True,
                preexec_fn=_prepare_node,  # noqa: PLW1509 - prctl and sigaction, async-signal-safe
            )

    def poll(self) -> tuple[str, int] | None:
        """The first required node that has exited, with its exit code."""
        for spec in self.specs:
            code = self.processes[spec.name].poll()
            if code is not None and spec.required:
                return spec.name, code
        return None

    def wait(self) -> int:
        """Until a required node exits or we are interrupted; then stops the rest. Returns the
        node's exit code, or 128 + the signal's number when stopped (130 for Ctrl-C, as a shell
        reports it), so that a verb running several graphs stops instead of starting the next."""
        stop = {"signal": None}

        def on_signal(signum, _frame):
            stop["signal"] = signum

        previous = signal.signal(signal.SIGTERM, on_signal)
        try:
            while stop["signal"] is None:
                exited = self.poll()
                if exited:
                    name, code = exited
                    if code != 0:
                        print(f"[launcher] {name} exited with {code}; stopping", file=sys.stderr)
                    return code
                time.sleep(0.1)
            return 128 + stop["signal"]
        except KeyboardInterrupt:
            return 128 + signal.SIGINT
        finally:
            signal.signal(signal.SIGTERM, previous)
            self.shutdown()

    def shutdown(self, grace: float = 10.0) -> None:
        for sig, timeout in ((signal.SIGINT, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            alive = [p for p in self.processes.values() if p.poll() is None]
            if not alive:
                break
            for p in alive:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, sig)
            deadline = time.monotonic() + timeout
            for p in alive:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=max(0.0, deadline - time.monotonic()))
        self._tmp.cleanup()

    def __enter__(self) -> GraphProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
