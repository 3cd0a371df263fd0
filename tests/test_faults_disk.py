"""A full disk (ENOSPC from the kernel) under the trial store and under a checkpoint: the writer
stops with a message that names the disk-full path, everything committed before stays readable,
and the same command continues once space is freed.

The full disk is a real one: a small tmpfs mounted for the test and filled with a file, so the
errors come from the kernel, not from a stand-in. Mounting needs root (CAP_SYS_ADMIN); where it
is refused the tests are skipped with that reason.
"""

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from supersize_grasp.dataset.store import StoreFullError, TrialStore, check_store
from supersize_grasp.models.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from supersize_grasp.models.network import GraspNet

EXE = Path(sys.prefix, "bin", "supersize-grasp")
CONFIG = """\
simulator:
  objects: {folder: "builtin:primitives"}
  scene: {n_objects: 6}
"""


@pytest.fixture
def small_disk(tmp_path):
    """``small_disk(size)``: a tmpfs of that size (``"4m"``) of the test's own, unmounted after."""
    mounted = []

    def mount(size: str) -> Path:
        where = tmp_path / f"disk-{len(mounted)}"
        where.mkdir()
        command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=True)


def fill(disk: Path) -> Path:
    """Write zeros into ``disk`` until the kernel answers ENOSPC; returns the filler file."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for chunk in (b"\0" * (1 << 20), b"\0" * 4096, b"\0"):
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return filler


@pytest.mark.slow
def test_disk_full_stops_collection_keeps_every_trial_and_resumes(tmp_path, small_disk):
    config_file = tmp_path / "test.yaml"
    config_file.write_text(CONFIG)
    disk = small_disk("256m")
    data = disk / "data"
    command = [EXE, "collect", "--data", data, "--quiet", "--config", config_file]
    log = tmp_path / "collect.log"
    with log.open("w") as out:
        runner = subprocess.Popen([*command, "--trials", "1000"], stdout=out, stderr=out)
    try:
        committed, deadline = 0, time.monotonic() + 300
        while committed < 2:
            assert time.monotonic() < deadline, "no trials were committed"
            assert runner.poll() is None, log.read_text()[-3000:]
            time.sleep(0.5)
            if (data / "trials.sqlite").exists():
                with TrialStore.open(data, readonly=True) as store:
                    committed = store.count()
        filler = fill(disk)
        code = runner.wait(timeout=180)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    output = log.read_text()
    assert code != 0, output[-3000:]
    assert f"{data}: disk full: cannot write {data}" in output, output[-3000:]
    assert "Traceback" not in output, output[-5000:]

    # Checked while the disk is still full: nothing half-written, every committed trial readable.
    assert check_store(data) == []
    with TrialStore.open(data, readonly=True) as store:
        before = {t.trial_id: t for t in store.trials(labelled_only=False)}
        for trial in before.values():
            store.scene(trial.scene_id)  # images present, checksums verified
    assert len(before) >= 2
    assert not list(data.rglob(".*.tmp")), "temporary files left on the full disk"

    filler.unlink()
    result = subprocess.run(
        [*command, "--trials", "2"], capture_output=True, text=True, timeout=400
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = subprocess.run([EXE, "dataset", data], capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stdout + report.stderr
    with TrialStore.open(data, readonly=True) as store:
        after = {t.trial_id: t for t in store.trials(labelled_only=False)}
    assert {i: after[i] for i in before} == before
    assert len(after) >= len(before) + 2


def test_disk_full_in_a_database_write_is_a_clear_error(small_disk):
    """Images fit, the database's WAL cannot grow: SQLite's SQLITE_FULL becomes the same error
    and the transaction is rolled back."""
    disk = small_disk("4m")
    with TrialStore.open(disk / "data") as store:
        kept = store.begin_session("sim", "small", 1)
        filler = fill(disk)
        with pytest.raises(StoreFullError, match=r"disk full: cannot write .*trials\.sqlite"):
            store.begin_session("sim", "x" * (2 << 20), 2)
        assert store.disk_full is not None
        filler.unlink()
        assert [s.session_id for s in store.sessions()] == [kept]
        again = store.begin_session("sim", "after", 3)  # the connection is usable again
    with TrialStore.open(disk / "data", readonly=True) as store:
        assert [s.session_id for s in store.sessions()] == [kept, again]
        assert store.check_integrity() == []


def test_disk_full_checkpoint_write_keeps_the_previous_checkpoint(small_disk):
    path = small_disk("8m") / "run" / "last.pt"
    torch.manual_seed(0)
    first = Checkpoint("cpu", 18, GraspNet("cpu").state_dict(), {}, "first", "-", epoch=1)
    save_checkpoint(path, first)
    filler = fill(path.parent.parent)
    second = Checkpoint("cpu", 18, GraspNet("cpu").state_dict(), {}, "second", "-", epoch=2)
    with pytest.raises(CheckpointError, match=rf"{path}: disk full: .*previous last\.pt is kept"):
        save_checkpoint(path, second)
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.pt"]
    kept = load_checkpoint(path)
    assert (kept.epoch, kept.data_fingerprint) == (1, "first")
    assert all(torch.equal(kept.state_dict[k], v) for k, v in first.state_dict.items())
    filler.unlink()
    save_checkpoint(path, second)
    assert load_checkpoint(path).epoch == 2
