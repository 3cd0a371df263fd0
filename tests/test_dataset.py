"""The trial store on real files and real SQLite: round trips, validation, damage, kill -9."""

from __future__ import annotations

import hashlib
import io
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from supersize_grasp.cli import main as cli_main
from supersize_grasp.dataset.images import decode_depth, encode_depth
from supersize_grasp.dataset.records import Trial
from supersize_grasp.dataset.store import (
    DB_NAME,
    NotAStoreError,
    StoreBusyError,
    StoreDamagedError,
    StoreVersionError,
    TrialStore,
    check_store,
)
from tests.fakes import INTRINSICS, POSE, H, W, images, same, trial


@pytest.fixture
def store(tmp_path):
    with TrialStore.open(tmp_path / "store") as s:
        yield s


def session_and_scene(store: TrialStore) -> tuple[str, str]:
    session = store.begin_session("sim", "trial:\n  lift_height: 0.2\n", seed=3)
    rgb, depth = images()
    return session, store.add_scene(session, rgb, depth, INTRINSICS, POSE, stamp=12.5)


def test_scene_and_trials_round_trip(store):
    session, scene_id = session_and_scene(store)
    rgb, depth = images()
    scene = store.scene(scene_id)
    assert scene.rgb.dtype == np.uint8 and np.array_equal(scene.rgb, rgb)
    assert scene.depth.dtype == np.float32
    millimetres = np.round(depth * 1000) / 1000
    assert np.allclose(scene.depth, millimetres, atol=1e-6, equal_nan=True)  # NaN kept
    assert scene.intrinsics == INTRINSICS
    assert scene.camera_pose == POSE and scene.stamp == 12.5 and scene.session_id == session

    written = [
        trial(session, scene_id),
        trial(session, scene_id, outcome="success", arm="right", force=35.0, score=0.75),
        trial(session, scene_id, outcome="ik_failed", message="unreachable"),
    ]
    ids = [store.add_trial(t) for t in written]
    assert ids == [1, 2, 3]
    everything = list(store.trials(labelled_only=False))
    assert [t.trial_id for t in everything] == ids
    assert all(same(a, b) for a, b in zip(written, everything, strict=True))
    assert [t.trial_id for t in store.trials()] == [1, 2]  # ik_failed is not a label
    assert store.count() == 3 and store.count(labelled_only=True) == 2
    assert store.scene_ids() == [scene_id]
    store.end_session(session)
    (info,) = store.sessions()
    assert info.session_id == session and info.ended is not None and info.seed == 3


def test_trials_are_read_back_in_pages(store):
    session, scene_id = session_and_scene(store)
    for i in range(2500):
        store.add_trial(trial(session, scene_id, seed=i))
    assert [t.seed for t in store.trials()] == list(range(2500))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"arm": "middle"}, "arm"),
        ({"angle": math.nan}, "angle"),
        ({"angle": math.pi}, "angle"),
        ({"outcome": "maybe"}, "outcome"),
        ({"scene_id": "no-such-scene"}, "scene_id"),
        ({"roi": (60, 0, 20, 10)}, "roi"),
        ({"grasp_pixel": (64.0, 3.0)}, "grasp_pixel"),
        ({"grasp_orientation": (0.0, 0.0, 0.0, 2.0)}, "grasp_orientation"),
        ({"force": math.inf}, "force"),
        ({"stage": -1}, "stage"),
        ({"timings": {"lift": "slow"}}, "timings"),
        ({"gripper_history": ((0.0, 1.0),)}, "gripper_history"),
    ],
)
def test_bad_trial_is_a_value_error_naming_the_field(store, changes, field):
    session, scene_id = session_and_scene(store)
    with pytest.raises(ValueError, match=rf"^{field}:"):
        store.add_trial(trial(session, **{"scene_id": scene_id, **changes}))
    assert store.count() == 0


def test_bad_scene_is_a_value_error_naming_the_field(store):
    session, _ = session_and_scene(store)
    rgb, depth = images()
    cases = [
        ("no-such-session", rgb, depth, INTRINSICS, POSE, "session_id"),
        (session, rgb.astype(np.float32), depth, INTRINSICS, POSE, "rgb"),
        (session, rgb, depth[:-1], INTRINSICS, POSE, "depth"),
        (session, rgb, depth.astype(np.float64), INTRINSICS, POSE, "depth"),
        (session, rgb, depth, {**INTRINSICS, "width": 640}, POSE, "intrinsics.width"),
        (session, rgb, depth, {**INTRINSICS, "fx": math.nan}, POSE, "intrinsics.fx"),
        (session, rgb, depth, INTRINSICS, ((0, 0), (0, 0, 0, 1)), "camera_pose position"),
    ]
    for session_id, r, d, intrinsics, pose, field in cases:
        with pytest.raises(ValueError, match=rf"^{field}"):
            store.add_scene(session_id, r, d, intrinsics, pose, stamp=0.0)
    assert len(store.scene_ids()) == 1
    assert len(list((store.root / "scenes").rglob("*"))) == 3  # one folder, two images


def test_a_scene_of_another_session_is_refused(store):
    _, scene_id = session_and_scene(store)
    other = store.begin_session("sim", "", seed=4)
    with pytest.raises(ValueError, match=r"^session_id:"):
        store.add_trial(trial(other, scene_id))


def test_filters_and_summary_numbers(store):
    session, scene_id = session_and_scene(store)
    plan = [  # arm, stage, object, outcome, how many
        ("left", 0, "mug", "success", 3),
        ("left", 0, "mug", "failure", 7),
        ("right", 0, "ball", "success", 1),
        ("right", 0, "ball", "failure", 9),
        ("right", 1, "", "success", 4),
        ("left", 1, "mug", "failure", 1),
        ("left", 0, "mug", "ik_failed", 5),
        ("right", 1, "ball", "aborted", 2),
    ]
    for arm, stage, obj, outcome, n in plan:
        for _ in range(n):
            store.add_trial(
                trial(session, scene_id, arm=arm, stage=stage, object_id=obj, outcome=outcome)
            )
    s = store.summary()
    assert s.trials == 32 and s.scenes == 1 and s.sessions == 1
    assert s.outcomes == {"success": 8, "failure": 17, "ik_failed": 5, "aborted": 2}
    assert (s.overall.labelled, s.overall.successes) == (25, 8)
    assert s.overall.success_rate == pytest.approx(8 / 25)
    assert {k: (t.labelled, t.successes) for k, t in s.per_arm.items()} == {
        "left": (11, 3),
        "right": (14, 5),
    }
    assert {k: (t.labelled, t.successes) for k, t in s.per_object.items()} == {
        "": (4, 4),
        "ball": (10, 1),
        "mug": (11, 3),
    }
    assert {k: (t.labelled, t.successes) for k, t in s.per_stage.items()} == {
        0: (20, 4),
        1: (5, 4),
    }
    assert s.per_session[session].labelled == 25
    assert store.count(stage=1, labelled_only=True) == 5
    assert store.count(stage=[0, 1], arm="right", labelled_only=True) == 14
    assert len(list(store.trials(object_ids=["mug", "ball"]))) == 21
    assert len(list(store.trials(arm="left", labelled_only=False))) == 16


def test_fingerprint_follows_the_content(tmp_path):
    with TrialStore.open(tmp_path / "s") as store:
        session, scene_id = session_and_scene(store)
        store.add_trial(trial(session, scene_id))
        first = store.fingerprint()
        assert store.fingerprint() == first
    with TrialStore.open(tmp_path / "s", create=False, readonly=True) as store:
        assert store.fingerprint() == first  # reopening changes nothing
    with TrialStore.open(tmp_path / "s") as store:
        store.add_trial(trial(session, scene_id, outcome="success"))
        assert store.fingerprint() != first


def test_integrity_finds_a_deleted_and_a_corrupted_image(tmp_path, capsys):
    root = tmp_path / "s"
    with TrialStore.open(root) as store:
        session, scene_id = session_and_scene(store)
        rgb, depth = images(1)
        second = store.add_scene(session, rgb, depth, INTRINSICS, POSE, stamp=13.0)
        store.add_trial(trial(session, scene_id))
        assert store.check_integrity() == []
    recordings = root / "sessions"
    recordings.mkdir()
    (recordings / f"{session}.mcap").write_bytes(b"\x89MCAP0\r\n")  # a recorder was killed
    assert cli_main(["dataset", str(root)]) == 0
    out = capsys.readouterr().out
    assert "1 trials, 0 successes" in out and "integrity: ok" in out
    assert "kB of scene images per trial (50,000 trials:" in out
    assert f"recordings: 1 in {recordings}, 1 unfinished" in out

    png = next((root / "scenes" / session).glob(f"{scene_id}.rgb.png"))
    png.unlink()
    depth_png = next((root / "scenes" / session).glob(f"{second}.depth.png"))
    data = bytearray(depth_png.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside the compressed pixels
    depth_png.write_bytes(bytes(data))
    with TrialStore.open(root, create=False, readonly=True) as store:
        problems = store.check_integrity()
        assert len(problems) == 2
        assert any(str(png) in p and "missing" in p for p in problems)
        assert any(str(depth_png) in p and "checksum" in p for p in problems)
        with pytest.raises(StoreDamagedError, match="checksum"):
            store.scene(second)
        try:  # unverified, the damage shows as pixels or as a named unreadable file
            assert store.scene(second, verify=False).depth.shape == (H, W)
        except StoreDamagedError as e:
            assert str(depth_png) in str(e) and "depth PNG" in str(e)
    assert cli_main(["dataset", str(root)]) == 1
    assert "integrity: DAMAGED, 2 problem(s)" in capsys.readouterr().out


def test_integrity_finds_a_truncated_database(tmp_path, capsys):
    root = tmp_path / "s"
    with TrialStore.open(root) as store:
        session, scene_id = session_and_scene(store)
        for _ in range(200):
            store.add_trial(trial(session, scene_id))
    db = root / DB_NAME
    os.truncate(db, db.stat().st_size // 2)
    problems = check_store(root)
    assert len(problems) == 1 and "malformed" in problems[0] and str(root) in problems[0]
    with pytest.raises(StoreDamagedError, match=str(root)):
        TrialStore.open(root)
    assert cli_main(["dataset", str(root)]) == 1
    assert "DAMAGED" in capsys.readouterr().err


def test_orphan_and_temporary_files_are_reported_then_removed_by_the_next_writer(tmp_path):
    root = tmp_path / "s"
    with TrialStore.open(root) as store:
        session, scene_id = session_and_scene(store)
    folder = root / "scenes" / session
    orphan = folder / "0123456789abcdef.rgb.png"  # renamed into place, row never committed
    temporary = folder / ".0123456789abcdef.depth.npy.1234abcd.tmp"  # killed mid-write
    for path in (orphan, temporary):
        path.write_bytes(b"partial")
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    problems = check_store(root)
    assert sorted(problems) == sorted(
        [f"{orphan}: not referenced by any scene", f"{temporary}: not referenced by any scene"]
    )
    with TrialStore.open(root) as store:
        assert not orphan.exists() and not temporary.exists()
        assert store.check_integrity() == []
        assert store.scene(scene_id).rgb.shape == (H, W, 3)


def test_a_store_being_created_is_never_seen_without_its_tables(tmp_path, monkeypatch):
    """Readers poll a store while its writer creates it: ``trials.sqlite`` appears whole, by a
    rename, or not at all. A creation cut short leaves only a temporary file, which readers do
    not take for the store and the next writer removes."""
    import sqlite3

    from supersize_grasp.dataset import store as store_module

    root = tmp_path / "s"
    renamed = []
    real_replace = os.replace

    def replace(src, dst):  # the moment the database gets its name
        if Path(dst).name == DB_NAME:
            assert not Path(dst).exists()
            with sqlite3.connect(f"file:{src}?mode=ro", uri=True) as conn:
                assert dict(conn.execute("SELECT key, value FROM meta"))["format"]
            renamed.append(Path(src).name)
        real_replace(src, dst)

    monkeypatch.setattr(store_module.os, "replace", replace)
    TrialStore.open(root).close()
    monkeypatch.undo()
    assert len(renamed) == 1 and renamed[0].startswith(f".{DB_NAME}.")

    cut_short = tmp_path / "cut"
    cut_short.mkdir()
    leftover = cut_short / f".{DB_NAME}.0123abcd.tmp"
    sqlite3.connect(leftover).execute("CREATE TABLE meta (key, value)").connection.close()
    with pytest.raises(NotAStoreError, match=f"no {DB_NAME}"):
        TrialStore.open(cut_short, readonly=True)
    with TrialStore.open(cut_short) as store:
        assert store.check_integrity() == [] and not leftover.exists()


def test_what_is_not_a_store_is_refused_naming_the_path(tmp_path, capsys):
    with pytest.raises(NotAStoreError, match=str(tmp_path / "missing")):
        TrialStore.open(tmp_path / "missing", create=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotAStoreError, match="a file"):
        TrialStore.open(tmp_path / "file")
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / DB_NAME).write_text("hello, not SQLite" * 100)
    with pytest.raises(NotAStoreError, match="not an SQLite database"):
        TrialStore.open(tmp_path / "text")
    import sqlite3

    (tmp_path / "other").mkdir()
    sqlite3.connect(tmp_path / "other" / DB_NAME).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(NotAStoreError, match="not a trial store"):
        TrialStore.open(tmp_path / "other")
    assert cli_main(["dataset", str(tmp_path / "text")]) == 2
    assert str(tmp_path / "text") in capsys.readouterr().err


def test_unknown_schema_version_and_second_writer_are_refused(tmp_path):
    import sqlite3

    root = tmp_path / "s"
    with TrialStore.open(root):
        with pytest.raises(StoreBusyError, match=str(root)):
            TrialStore.open(root)
        TrialStore.open(root, readonly=True).close()  # readers are welcome
    conn = sqlite3.connect(root / DB_NAME)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreVersionError, match=rf"{root}: schema version '99'"):
        TrialStore.open(root)


# A writer that adds trials until the store holds TARGET, printing each committed id (flushed).
# Every 4th trial gets a new scene, so kills also land inside image writes.
WRITER = """
import sys, numpy as np
from supersize_grasp.dataset.store import TrialStore
sys.path.insert(0, sys.argv[3])
from test_dataset import INTRINSICS, POSE, images, trial

root, target = sys.argv[1], int(sys.argv[2])
with TrialStore.open(root) as store:
    sessions = store.sessions()
    session = sessions[-1].session_id if sessions else store.begin_session("sim", "", seed=1)
    n = store.count()
    scene = (store.scene_ids() or [None])[-1]
    while n < target:
        if n % 4 == 0:
            rgb, depth = images(n)
            scene = store.add_scene(session, rgb, depth, INTRINSICS, POSE, stamp=float(n))
        n = store.add_trial(trial(session, scene, seed=n + 1, force=float(n + 1)))
        print(n, flush=True)
"""


def run_writer(root: Path, target: int) -> subprocess.Popen:
    tests_dir = str(Path(__file__).parent)
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), str(target), tests_dir],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_kill_9_loses_no_acknowledged_trial_and_collection_resumes(tmp_path):
    root = tmp_path / "s"
    rng = random.Random(1234)
    target = 10_000  # never reached: every run is killed
    acknowledged = 0
    for _ in range(4):
        writer = run_writer(root, target)
        stop_after = acknowledged + rng.randint(5, 40)
        for line in writer.stdout:
            acknowledged = max(acknowledged, int(line))
            if acknowledged >= stop_after:
                break
        time.sleep(rng.uniform(0.0, 0.02))  # anywhere in the next trial or scene write
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        for line in writer.stdout:  # printed before the kill, read only now: acknowledged too
            acknowledged = max(acknowledged, int(line))
        writer.stdout.close()

        with TrialStore.open(root) as store:  # the next writer: rolls back, cleans up
            assert store.check_integrity() == []
            assert not list(root.rglob("*.tmp"))
            stored = list(store.trials(labelled_only=False))
            # every acknowledged trial, at most one more committed before its id was printed
            assert acknowledged <= len(stored) <= acknowledged + 1
            assert [t.trial_id for t in stored] == list(range(1, len(stored) + 1))
            scenes = set(store.scene_ids())
            for t in stored:  # whole and exactly as written: no partial trial is visible
                assert t.force == t.seed == t.trial_id and t.scene_id in scenes
                assert same(t, trial(t.session_id, t.scene_id, seed=t.seed, force=t.force))
            acknowledged = len(stored)

    final = acknowledged + 6
    writer = run_writer(root, final)
    out, _ = writer.communicate(timeout=60)
    assert writer.returncode == 0
    assert [int(x) for x in out.split()] == list(range(acknowledged + 1, final + 1))
    with TrialStore.open(root, readonly=True) as store:
        assert store.count() == final and store.check_integrity() == []


def test_depth_round_trips_exactly_in_millimetres():
    rng = np.random.default_rng(5)
    depth = rng.uniform(0.3, 4.0, (H, W)).astype(np.float32)
    depth[0, :4] = [np.nan, np.inf, -0.5, 0.0]  # none of them is a reading
    depth[1, 0] = 70.0  # beyond 65.535 m: not a reading either
    depth[1, 1] = 65.535
    stored = decode_depth(Path("d.depth.png"), encode_depth(depth))
    assert stored.dtype == np.float32 and stored.shape == depth.shape
    none = ~np.isfinite(depth) | (depth <= 0) | (depth > 65.535)
    assert np.isnan(stored[none]).all() and np.isfinite(stored[~none]).all()
    millimetres = np.round(depth[~none].astype(np.float64) * 1000)
    assert np.array_equal(np.round(stored[~none].astype(np.float64) * 1000), millimetres)
    assert encode_depth(stored) == encode_depth(depth)  # read and stored again: the same bytes


def test_a_store_with_float32_npy_depth_is_still_read(tmp_path):
    """Stores written before depth PNGs hold ``.depth.npy`` float32 metres: read as they were."""
    with TrialStore.open(tmp_path / "s") as store:
        session, scene_id = session_and_scene(store)
        _, depth = images()
        png = next((tmp_path / "s" / "scenes" / session).glob(f"{scene_id}.depth.png"))
        npy = png.with_suffix(".npy")
        buffer = io.BytesIO()
        np.save(buffer, depth, allow_pickle=False)
        npy.write_bytes(buffer.getvalue())
        png.unlink()
        with sqlite3.connect(tmp_path / "s" / "trials.sqlite") as conn:
            conn.execute(
                "UPDATE scenes SET depth_file = ?, depth_sha256 = ? WHERE scene_id = ?",
                (
                    npy.relative_to(tmp_path / "s").as_posix(),
                    hashlib.sha256(buffer.getvalue()).hexdigest(),
                    scene_id,
                ),
            )
    with TrialStore.open(tmp_path / "s", readonly=True) as store:
        assert store.check_integrity() == []
        assert np.array_equal(store.scene(scene_id).depth, depth, equal_nan=True)


def test_the_trials_table_holds_every_trial_field():
    """One column list (``TRIAL_TABLE``) makes the schema, the insert and the read-back."""
    from dataclasses import fields

    from supersize_grasp.dataset.database import TRIAL_TABLE

    table = [name for name, _, _ in TRIAL_TABLE]
    assert sorted(table) == sorted(f.name for f in fields(Trial)) and table[0] == "trial_id"
