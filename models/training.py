"""Training the grasp network on patches: augmentation, balanced batches, resumable epochs.

The paper's recipe: each patch is rotated by a random angle and its label moved to the matching
angle bin (here whole bins, so the shift is exact; a mirror doubles the variety again), batches
are balanced between successes and failures, and only the tried bin's output gets a loss.
A checkpoint (``last.pt``) is written after every epoch; a killed run resumes from it.
Under torchrun (``models/distributed.py``) K processes train one DistributedDataParallel model:
each takes its share of the same balanced epoch with batch ``batch_size / K``, and rank 0 alone
evaluates and writes checkpoints (plain weights, so a run resumes with another K).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from supersize_grasp.config.learning import LearningConfig

from . import distributed
from .checkpoint import (
    Checkpoint,
    CheckpointError,
    check_inputs,
    load_checkpoint,
    remove_leftovers,
    save_checkpoint,
)
from .network import GraspNet, executed_bin_loss, load_pretrained_trunk
from .patches import crop_patch, shift_bin
from .samples import PatchSamples

log = logging.getLogger(__name__)

LAST = "last.pt"
FINAL = "model.pt"


class PatchDataset(Dataset):
    """(patch uint8 HxWx3, heights float32 HxW, angle bin, label) per sample; ``augment`` draws
    a random whole-bin rotation and mirror per access and moves the bin with it. The heights
    (rgbd only; else an empty tensor) are rotated, mirrored and resized with the colour, by the
    same bilinear warp."""

    def __init__(
        self,
        samples: PatchSamples,
        input_px: int,
        num_bins: int,
        augment: bool,
        heights: bool = False,
    ):
        self.samples = samples
        self.input_px = input_px
        self.num_bins = num_bins
        self.augment = augment
        self.heights = heights

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        s = self.samples
        k, flip = 0, False
        if self.augment:
            k = int(torch.randint(self.num_bins, ()).item())
            flip = bool(torch.rand(()).item() < 0.5)
        patch = crop_patch(s.rgb[i], self.input_px, k, self.num_bins, flip)
        height = (
            crop_patch(s.height[i].astype(np.float32), self.input_px, k, self.num_bins, flip)
            if self.heights
            else np.zeros(0, np.float32)
        )
        angle_bin = int(shift_bin(s.angle_bin[i], k, self.num_bins, flip))
        return (
            torch.from_numpy(np.ascontiguousarray(patch)),
            torch.from_numpy(np.ascontiguousarray(height)),
            angle_bin,
            int(s.label[i]),
        )


def balanced_sampler(
    labels: np.ndarray, generator: torch.Generator, multiplicity: np.ndarray | None = None
) -> WeightedRandomSampler:
    """Each draw is a success or a failure with equal probability (the paper balances batches).

    ``multiplicity`` counts a sample that many times within its class (data aggregation gives a
    new stage's trials Gamma times the weight of the old ones).
    """
    labels = np.asarray(labels)
    m = np.ones(len(labels)) if multiplicity is None else np.asarray(multiplicity, dtype=float)
    positives = float(m[labels == 1].sum())
    negatives = float(m[labels == 0].sum())
    if positives == 0 or negatives == 0:
        raise ValueError(
            f"training needs both successes and failures; got {int((labels == 1).sum())} and "
            f"{int((labels == 0).sum())}"
        )
    weights = np.where(labels == 1, 0.5 * m / positives, 0.5 * m / negatives)
    return WeightedRandomSampler(
        torch.as_tensor(weights, dtype=torch.double), len(labels), generator=generator
    )


def split_by_scene(samples: PatchSamples, fraction: float, salt: str = "seen-test"):
    """(train, held-out) index arrays: whole scenes go to one side, by a hash of the scene id,
    so the split is the same however many trials are added later."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"held-out fraction must be in [0, 1), got {fraction}")
    buckets = np.array(
        [
            int.from_bytes(hashlib.sha256(f"{salt}/{sid}".encode()).digest()[:4], "big") % 10_000
            for sid in samples.scene_id
        ],
        dtype=np.int64,
    )
    held = buckets < round(fraction * 10_000)
    return np.nonzero(~held)[0], np.nonzero(held)[0]


def balanced_indices(labels: np.ndarray, seed: int) -> np.ndarray:
    """All of the rarer class and as many of the other, drawn at random (the paper's test set)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    pos, neg = np.nonzero(labels == 1)[0], np.nonzero(labels == 0)[0]
    n = min(len(pos), len(neg))
    chosen = np.concatenate([rng.choice(pos, n, replace=False), rng.choice(neg, n, replace=False)])
    return np.sort(chosen)


def resolve_device(name: str, ranks: distributed.Ranks | None = None) -> torch.device:
    """``learning.device`` as a torch device; ``auto`` is the first GPU when there is one.
    Among several processes (``ranks``) each takes its own GPU (``distributed.rank_device``)."""
    if ranks is not None and ranks.active:
        return distributed.rank_device(name, ranks.local_rank)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and (
        not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()
    ):
        raise ValueError(
            f"learning.device {name!r}: this machine has {torch.cuda.device_count()} CUDA "
            "device(s); use cpu or auto"
        )
    return device


def samples_fingerprint(samples: PatchSamples, source: str = "") -> str:
    """What a model was trained on: the source stores' fingerprints and the chosen trials."""
    digest = hashlib.sha256(source.encode())
    for name in ("trial_id", "label", "angle_bin"):
        digest.update(np.ascontiguousarray(getattr(samples, name)).tobytes())
    digest.update("\n".join(samples.session_id.tolist()).encode())
    return digest.hexdigest()


@torch.no_grad()
def predict_scores(
    net: GraspNet, samples: PatchSamples, batch_size: int = 256, num_bins: int | None = None
) -> np.ndarray:
    """(N, num_bins) success probabilities of the unrotated patches (on the net's device)."""
    net.eval()
    device = next(net.parameters()).device
    num_bins = num_bins or net.num_bins
    out = []
    for start in range(0, len(samples), batch_size):
        stop = min(start + batch_size, len(samples))
        patches = np.stack([crop_patch(samples.rgb[i], net.input_px) for i in range(start, stop)])
        heights = None
        if net.inputs == "rgbd":
            heights = torch.from_numpy(
                np.stack(
                    [
                        crop_patch(samples.height[i].astype(np.float32), net.input_px)
                        for i in range(start, stop)
                    ]
                )
            )
        batch = net.encode(torch.from_numpy(patches).to(device), heights)
        out.append(torch.sigmoid(net(batch)).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, num_bins), np.float32)


def executed_accuracy(scores: np.ndarray, samples: PatchSamples) -> float:
    """Accuracy of ``score > 0.5`` at each trial's executed bin against its label."""
    if not len(samples):
        return math.nan
    chosen = scores[np.arange(len(samples)), samples.angle_bin]
    return float(np.mean((chosen > 0.5) == (samples.label == 1)))


@dataclass
class TrainPlan:
    """One training run: from scratch (or ImageNet) with ``lr``, or fine-tuning ``init``."""

    epochs: int
    lr: float
    stage: int = 0
    init: Checkpoint | None = None
    source: str = ""  # fingerprints of the stores the samples came from
    multiplicity: np.ndarray | None = None  # per-sample weight (data aggregation)


def train(
    samples: PatchSamples,
    config: LearningConfig,
    out_dir: str | Path,
    plan: TrainPlan,
    *,
    num_bins: int = 18,
    validation: PatchSamples | None = None,
    progress: bool = True,
    on_epoch: Callable[[Checkpoint], None] | None = None,
) -> Checkpoint:
    """Train, writing ``last.pt`` after each epoch and ``model.pt`` at the end.

    If ``out_dir`` already holds a ``last.pt`` for the same data and settings, training resumes
    after its last completed epoch; a ``last.pt`` for other data is an error, never overwritten.

    In a process group (torchrun; ``distributed.processes``) every rank calls this with the same
    samples: the ranks train one model together, and rank 0 evaluates ``validation``, calls
    ``on_epoch`` and writes the files (the others return the same weights and training figures,
    without the evaluation)."""
    ranks = distributed.current()
    batch_size = distributed.rank_batch(config.batch_size, ranks.world_size)
    out_dir = Path(out_dir)
    if ranks.main:
        out_dir.mkdir(parents=True, exist_ok=True)
        remove_leftovers(out_dir)
    distributed.barrier()  # the others read last.pt after rank 0 tidied the folder
    fingerprint = samples_fingerprint(samples, plan.source)
    if plan.multiplicity is not None:
        weights = np.ascontiguousarray(plan.multiplicity, dtype=np.float64)
        fingerprint = hashlib.sha256((fingerprint + weights.tobytes().hex()).encode()).hexdigest()
    device = resolve_device(config.device, ranks)
    torch.manual_seed(config.seed)
    net = GraspNet(config.profile, num_bins, config.inputs, config.max_height)
    learning = config.model_dump(mode="json")
    if plan.init is not None:
        if plan.init.profile != config.profile or plan.init.num_bins != num_bins:
            raise CheckpointError(
                f"cannot fine-tune a {plan.init.profile!r} network with {plan.init.num_bins} bins "
                f"as {config.profile!r} with {num_bins}"
            )
        check_inputs(plan.init, config.inputs, "fine-tuning")
        net.load_state_dict(plan.init.state_dict)
        trunk_init = plan.init.trunk_init
    else:
        trunk_init = load_pretrained_trunk(net, config.pretrained_weights)
    net.to(device)
    if ranks.active and device.type == "cuda":  # batch statistics over the whole global batch
        net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)  # (same state_dict keys)
    optimizer = torch.optim.SGD(net.parameters(), lr=plan.lr, momentum=0.9, weight_decay=5e-4)
    checkpoint = Checkpoint(
        config.profile,
        num_bins,
        _cpu_state(net),
        learning,
        fingerprint,
        trunk_init,
        stage=plan.stage,
        inputs=config.inputs,
    )
    checkpoint = _resume(out_dir / LAST, checkpoint, net, optimizer, plan)

    # the same generator seed on every rank: the same epoch order, which ShardSampler shares out
    generator = torch.Generator().manual_seed(config.seed + checkpoint.epoch)
    drop_last = len(samples) > config.batch_size
    sampler = balanced_sampler(samples.label, generator, plan.multiplicity)
    model: torch.nn.Module = net
    if ranks.active:
        sampler = distributed.ShardSampler(
            sampler, ranks.rank, ranks.world_size, config.batch_size, drop_last
        )
        drop_last = False  # the shards hold whole global batches already
        model = DistributedDataParallel(net, device_ids=[device] if device.type == "cuda" else None)
    loader = DataLoader(
        PatchDataset(samples, net.input_px, num_bins, True, heights=net.inputs == "rgbd"),
        batch_size=batch_size,
        sampler=sampler,
        num_workers=config.num_workers,
        persistent_workers=config.num_workers > 0,
        pin_memory=device.type == "cuda",
        drop_last=drop_last,
    )
    writer = _summary_writer(out_dir / "tensorboard") if ranks.main else None
    try:
        for epoch in range(checkpoint.epoch, plan.epochs):
            if ranks.active:  # each rank its own augmentation and dropout draws, whatever K was
                torch.manual_seed(_rank_seed(config.seed, epoch, ranks.rank))
            row = _epoch(net, loader, optimizer, epoch, plan.epochs, progress and ranks.main, model)
            if ranks.main and validation is not None and len(validation):
                row["val_accuracy"] = executed_accuracy(predict_scores(net, validation), validation)
            checkpoint.epoch = epoch + 1
            checkpoint.history.append(row)
            checkpoint.state_dict = _cpu_state(net)
            checkpoint.optimizer = optimizer.state_dict()
            checkpoint.rng_state = torch.get_rng_state()
            if ranks.main:
                save_checkpoint(out_dir / LAST, checkpoint)
                if writer is not None:
                    for name, value in row.items():
                        writer.add_scalar(name, value, global_step=epoch + 1)
                    writer.flush()
                if on_epoch is not None:
                    on_epoch(checkpoint)
            distributed.barrier()  # no rank runs ahead of the checkpoint
    finally:
        if writer is not None:
            writer.close()
    final = Checkpoint(**{**checkpoint.__dict__, "optimizer": None, "rng_state": None})
    if ranks.main:
        save_checkpoint(out_dir / FINAL, final)
    distributed.barrier()  # model.pt exists when any rank returns
    return final


def _resume(path: Path, fresh: Checkpoint, net, optimizer, plan: TrainPlan) -> Checkpoint:
    if not path.exists():
        return fresh
    last = load_checkpoint(path)
    same = (
        last.data_fingerprint == fresh.data_fingerprint
        and last.profile == fresh.profile
        and last.inputs == fresh.inputs
        and last.stage == fresh.stage
    )
    if not same:
        raise CheckpointError(
            f"{path}: a run on other data or settings is in this folder; choose another output "
            "folder or remove it to start again"
        )
    net.load_state_dict(last.state_dict)
    if last.optimizer is not None:
        optimizer.load_state_dict(last.optimizer)
    for group in optimizer.param_groups:
        group["lr"] = plan.lr
    if last.rng_state is not None:
        torch.set_rng_state(last.rng_state)
    log.info("resuming %s after epoch %d of %d", path, last.epoch, plan.epochs)
    return last


def _rank_seed(seed: int, epoch: int, rank: int) -> int:
    """The torch seed of one rank's epoch: independent streams, the same for a resumed run."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])


def _epoch(
    net, loader, optimizer, epoch: int, epochs: int, progress: bool, model=None
) -> dict[str, float]:
    """One pass over ``loader``; ``model`` is what runs forward (``net`` in DistributedDataParallel
    among several processes, whose figures are then summed over the ranks)."""
    model = net if model is None else model
    model.train()
    total = correct = 0
    loss_sum = 0.0
    started = time.perf_counter()
    batches = loader
    if progress:
        from tqdm import tqdm

        batches = tqdm(loader, desc=f"epoch {epoch + 1}/{epochs}", unit="batch", leave=False)
    device = next(net.parameters()).device
    for batch in batches:
        patches, heights, bins, labels = (t.to(device, non_blocking=True) for t in batch)
        logits = model(net.encode(patches, heights if net.inputs == "rgbd" else None))
        loss = executed_bin_loss(logits, bins, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        n = len(labels)
        total += n
        loss_sum += float(loss.detach()) * n
        chosen = logits.detach().gather(1, bins.view(-1, 1)).squeeze(1)
        correct += int(((chosen > 0) == (labels == 1)).sum())
        if progress:
            batches.set_postfix(loss=f"{loss_sum / total:.3f}", acc=f"{correct / total:.1%}")
    seconds = time.perf_counter() - started
    if distributed.current().active:  # the whole model's figures: every rank's patches
        loss_sum, correct, total = distributed.sum_over_ranks([loss_sum, correct, total])
    return {
        "train_loss": loss_sum / max(total, 1),
        "train_accuracy": correct / max(total, 1),
        "patches_per_s": total / seconds if seconds > 0 else math.nan,
    }


def _cpu_state(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The weights as CPU tensors: a checkpoint loads on any machine, GPU or not."""
    return {name: tensor.detach().cpu() for name, tensor in net.state_dict().items()}


def _summary_writer(folder: Path):
    """TensorBoard event files when the tensorboard package is installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.warning("tensorboard is not installed: no event files in %s", folder)
        return None
    return SummaryWriter(log_dir=str(folder))
