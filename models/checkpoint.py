"""Grasp-network checkpoints: ``state_dict`` + the configuration + what data made them.

A checkpoint is a plain dict of tensors and JSON-like values saved with ``torch.save`` and read
with ``weights_only=True`` (no pickled code runs on load). It records the network's inputs (rgb
or rgbd; checkpoints from before rgbd have none and are rgb). Writes go to a temporary file that is
fsynced and renamed, so a kill or a full disk leaves the previous checkpoint intact.
"""

from __future__ import annotations

import errno
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from supersize_grasp.dataset.durable import TMP_SUFFIX, write_durably

from .network import GraspNet
from .weights import WeightsError, resolve_model

FORMAT = "supersize_grasp.grasp_net"
VERSION = 1


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message names the file and the problem."""


@dataclass
class Checkpoint:
    profile: str
    num_bins: int
    state_dict: dict[str, torch.Tensor]
    learning: dict[str, Any]  # the learning configuration it was trained with (JSON-like)
    data_fingerprint: str  # of the training samples; see train.samples_fingerprint
    trunk_init: str  # where the trunk's first weights came from
    epoch: int = 0  # epochs completed
    stage: int = 0
    history: list[dict[str, float]] = field(default_factory=list)  # one row per epoch
    optimizer: dict[str, Any] | None = None  # for resuming only
    rng_state: torch.Tensor | None = None
    inputs: str = "rgb"  # rgb | rgbd (network.INPUTS)

    def build(self) -> GraspNet:
        """The network with these weights, in eval mode."""
        max_height = float(self.learning.get("max_height", 0.12))
        net = GraspNet(self.profile, self.num_bins, self.inputs, max_height)
        try:
            net.load_state_dict(self.state_dict)
        except RuntimeError as e:
            raise CheckpointError(
                f"weights do not fit the {self.profile!r} network with {self.inputs} inputs: {e}"
            ) from e
        return net.eval()


def check_inputs(checkpoint: Checkpoint, inputs: str, where: str) -> None:
    """Refuse a model whose inputs are not those ``where`` is set up for (learning.inputs)."""
    if checkpoint.inputs != inputs:
        raise CheckpointError(
            f"{where}: the model takes {checkpoint.inputs} inputs but learning.inputs is "
            f"{inputs}; set learning.inputs: {checkpoint.inputs} or use a {inputs} model"
        )


def save_checkpoint(path: str | Path, checkpoint: Checkpoint) -> None:
    """Write ``path`` atomically: a full disk, an error or a signal leaves the previous file
    as it was and no temporary file behind.

    Raises:
        CheckpointError: the disk is full (the message names the file).
    """
    path = Path(path)
    payload = {"format": FORMAT, "version": VERSION, **checkpoint.__dict__}
    buffer = io.BytesIO()  # serialised first: torch's writer reports a full disk without errno
    torch.save(payload, buffer)
    try:
        write_durably(path, buffer.getbuffer())
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        kept = f"the previous {path.name} is kept" if path.exists() else "nothing was written"
        raise CheckpointError(
            f"{path}: disk full: cannot write the checkpoint ({e.strerror}); {kept}: free "
            "space on this disk and run the same command again to continue"
        ) from e


def remove_leftovers(folder: str | Path) -> None:
    """Delete temporary checkpoint files that a killed writer left in ``folder``."""
    for tmp in Path(folder).glob(f".*.pt.*{TMP_SUFFIX}"):
        tmp.unlink(missing_ok=True)


_REQUIRED = {
    "profile": str,
    "num_bins": int,
    "state_dict": dict,
    "learning": dict,
    "data_fingerprint": str,
    "trunk_init": str,
}
_OPTIONAL = {"inputs": str}


def checkpoint_file(model: str | Path) -> Path:
    """The file of ``model``: a path, or the name of shipped weights such as ``default``."""
    try:
        return resolve_model(model)
    except WeightsError as e:
        raise CheckpointError(str(e)) from None


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read and validate a checkpoint (a file, or the name of shipped weights); any problem is
    a ``CheckpointError`` naming the file."""
    path = checkpoint_file(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"{path}: not a readable torch checkpoint ({e})") from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a grasp-network checkpoint (no format {FORMAT!r})")
    if payload.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {payload.get('version')!r}; this code reads {VERSION}"
        )
    for name, kind in _REQUIRED.items():
        if not isinstance(payload.get(name), kind):
            raise CheckpointError(f"{path}: field {name!r} missing or not a {kind.__name__}")
    for name, kind in _OPTIONAL.items():
        if name in payload and not isinstance(payload[name], kind):
            raise CheckpointError(f"{path}: field {name!r} is not a {kind.__name__}")
    fields = {k: v for k, v in payload.items() if k not in ("format", "version")}
    try:
        checkpoint = Checkpoint(**fields)
        checkpoint.build()
    except TypeError as e:
        raise CheckpointError(f"{path}: unexpected fields ({e})") from e
    except (CheckpointError, ValueError) as e:
        raise CheckpointError(f"{path}: {e}") from e
    return checkpoint
