"""The shipped weights: every registry entry's file is there, unaltered, and loads as its entry
says; ``--model default`` resolves to it; a missing or altered file is refused by name."""

import argparse
import dataclasses
import shutil

import pytest

from supersize_grasp.models import weights as registry
from supersize_grasp.models.checkpoint import load_checkpoint
from supersize_grasp.models.weights import GraspNetWeights, WeightsError, resolve_model


@pytest.mark.parametrize("entry", list(GraspNetWeights), ids=lambda e: e.name)
def test_every_shipped_entry_loads_as_it_says(entry):
    weights = entry.value
    checkpoint = load_checkpoint(weights.verify())
    assert checkpoint.profile == weights.profile
    assert checkpoint.data_fingerprint.startswith(str(weights.data["training_data_fingerprint"]))
    assert checkpoint.inputs == weights.inputs


def test_default_is_a_name_and_a_path_is_a_path(tmp_path):
    from supersize_grasp.models.checkpoint import CheckpointError

    assert load_checkpoint("default").profile == GraspNetWeights.DEFAULT.value.profile
    with pytest.raises(CheckpointError, match="'best': no such checkpoint file"):
        load_checkpoint("best")
    assert GraspNetWeights.DEFAULT in list(GraspNetWeights)
    assert resolve_model("default") == GraspNetWeights.DEFAULT.value.path
    assert resolve_model("Cpu-Rgb-8k-V1") == GraspNetWeights.CPU_RGB_8K_V1.value.path
    mine = tmp_path / "model.pt"
    assert resolve_model(str(mine)) == mine  # the checkpoint loader names a missing file
    with pytest.raises(
        WeightsError, match=r"'best': no such checkpoint file, nor shipped .*default"
    ):
        resolve_model("best")


def test_a_missing_or_altered_file_is_refused_naming_it(tmp_path, monkeypatch):
    weights = GraspNetWeights.DEFAULT.value
    shipped = weights.path
    monkeypatch.setattr(registry, "FOLDER", tmp_path)
    with pytest.raises(WeightsError, match=rf"{tmp_path / weights.file}: .* missing"):
        weights.verify()
    shutil.copy(shipped, tmp_path)
    assert weights.verify() == tmp_path / weights.file
    with (tmp_path / weights.file).open("ab") as f:
        f.write(b"\0")
    with pytest.raises(WeightsError, match=rf"{tmp_path / weights.file}: sha256 .* altered"):
        weights.verify()
    other = dataclasses.replace(weights, sha256="0" * 64)
    with pytest.raises(WeightsError, match="altered"):
        other.verify()


def test_the_verbs_take_shipped_weights_by_name(capsys):
    from supersize_grasp.cli import main as cli_main
    from supersize_grasp.commands.clear_table import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args(["--model", "default"]).model == GraspNetWeights.DEFAULT.value.path
    with pytest.raises(SystemExit) as stopped:
        cli_main(["clear-table", "--model", "best"])
    assert stopped.value.code == 2
    assert "'best': no such checkpoint file, nor shipped weights" in capsys.readouterr().err
