"""``dataset merge``: stores collected apart join into one, idempotently; a store of another
object set is refused by name unless forced; a merge cut short is finished by running it again.

Real parts: trial stores on disk (SQLite, PNG files), the command line."""

import pytest

from supersize_grasp.cli import main as cli_main
from supersize_grasp.dataset import merge as merge_module
from supersize_grasp.dataset.merge import MergeRefusedError, merge_stores
from supersize_grasp.dataset.store import TrialStore
from tests.fakes import INTRINSICS, POSE, images, same, trial

CONFIG = "trial:\n  lift_height: 0.2\nsimulator:\n  objects:\n    folder: null\n    seed: 0\n"


def collected(root, trials: int, seed: int, config: str = CONFIG) -> None:
    """A store as one machine would leave it: a session, one scene and trial per trial."""
    with TrialStore.open(root) as store:
        session = store.begin_session("sim", config, seed=seed)
        for k in range(trials):
            rgb, depth = images(seed * 100 + k)
            scene = store.add_scene(session, rgb, depth, INTRINSICS, POSE, stamp=float(k))
            outcome = "success" if k % 2 else "failure"
            store.add_trial(trial(session, scene, outcome=outcome, seed=k, stamp=100.0 + k))
        store.end_session(session)


def contents(root) -> tuple[list, str, list[str]]:
    with TrialStore.open(root, create=False, readonly=True) as store:
        return list(store.trials(labelled_only=False)), store.fingerprint(), store.check_integrity()


def test_two_stores_merge_once_and_again_adds_nothing(tmp_path):
    collected(tmp_path / "a", 3, seed=1)
    collected(tmp_path / "b", 2, seed=2)
    count = merge_stores([tmp_path / "a", tmp_path / "b"], tmp_path / "c")
    assert (count.sessions, count.scenes, count.trials, count.trials_known) == (2, 5, 5, 0)
    merged, fingerprint, problems = contents(tmp_path / "c")
    sources = contents(tmp_path / "a")[0] + contents(tmp_path / "b")[0]
    assert problems == []
    assert len(merged) == 5 and all(same(m, s) for m, s in zip(merged, sources, strict=True))
    with TrialStore.open(tmp_path / "c", readonly=True) as store:  # images whole, same bytes
        for t in merged:
            assert store.scene(t.scene_id).rgb.shape == (48, 64, 3)

    again = merge_stores([tmp_path / "b", tmp_path / "a"], tmp_path / "c")
    assert (again.sessions, again.scenes, again.trials, again.trials_known) == (0, 0, 0, 5)
    assert contents(tmp_path / "c")[1] == fingerprint


def test_another_object_set_is_refused_by_name_unless_forced(tmp_path, capsys):
    collected(tmp_path / "a", 2, seed=1)
    other = CONFIG.replace("folder: null", "folder: builtin:primitives")
    collected(tmp_path / "b", 2, seed=2, config=other)
    merge_stores([tmp_path / "a"], tmp_path / "c")
    with pytest.raises(
        MergeRefusedError, match=r"simulator\.objects\.folder = 'builtin:primitives'"
    ):
        merge_stores([tmp_path / "b"], tmp_path / "c")
    assert len(contents(tmp_path / "c")[0]) == 2  # nothing of b went in

    code = cli_main(["dataset", "merge", str(tmp_path / "b"), "--into", str(tmp_path / "c")])
    assert code == 2 and "simulator.objects.folder" in capsys.readouterr().err
    code = cli_main(
        ["dataset", "merge", str(tmp_path / "b"), "--into", str(tmp_path / "c"), "--force"]
    )
    assert code == 0 and "2 trials added" in capsys.readouterr().out
    assert len(contents(tmp_path / "c")[0]) == 4


def test_a_merge_cut_short_is_finished_by_running_it_again(tmp_path, monkeypatch):
    collected(tmp_path / "a", 4, seed=1)
    merge_stores([tmp_path / "a"], tmp_path / "whole")
    imported = []
    real_import = TrialStore.import_trial

    def dies_after_two(self, record):
        if len(imported) == 2:
            raise KeyboardInterrupt  # the process is stopped between two commits
        imported.append(record)
        return real_import(self, record)

    monkeypatch.setattr(TrialStore, "import_trial", dies_after_two)
    with pytest.raises(KeyboardInterrupt):
        merge_stores([tmp_path / "a"], tmp_path / "c")
    monkeypatch.setattr(TrialStore, "import_trial", real_import)
    count = merge_stores([tmp_path / "a"], tmp_path / "c")
    assert (count.trials, count.trials_known) == (2, 2)
    finished, fingerprint, problems = contents(tmp_path / "c")
    assert problems == [] and fingerprint == contents(tmp_path / "whole")[1]
    assert len(finished) == 4


def test_identity_ignores_where_the_object_cache_lives():
    a = merge_module._identity(CONFIG + "    cache_dir: /tmp/x\n")
    b = merge_module._identity(CONFIG + "    cache_dir: /home/y\n")
    assert a == b and a["simulator.objects.folder"] is None
