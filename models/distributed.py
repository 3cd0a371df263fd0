"""Training across processes: torchrun's environment, the process group and each rank's shard.

``torchrun --nproc_per_node K`` starts K copies of a command with ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK`` (and ``MASTER_ADDR``/``MASTER_PORT``) set. ``processes`` joins them into one
process group (gloo on the CPU, NCCL on GPUs, each process on ``cuda:LOCAL_RANK``); without
those variables (or with K = 1) nothing is started and training runs in one process as always.
``ShardSampler`` gives every rank the same epoch order, drawn from the same seed, and each its
own interleaved share, so K ranks with batch ``batch_size / K`` take the batches one process
takes with ``batch_size``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
RENDEZVOUS = ("MASTER_ADDR", "MASTER_PORT")
HOW = "start training across processes with torchrun --nproc_per_node K (it sets them all)"


class DistributedError(ValueError):
    """torchrun's environment or the number of processes does not fit; the message says why."""


@dataclass(frozen=True)
class Ranks:
    """Where this process stands among the processes that train together."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the one that evaluates, prints and writes checkpoints and event files."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


def torchrun_ranks(environ: Mapping[str, str] | None = None) -> Ranks:
    """The ranks that torchrun's variables describe; one process (rank 0 of 1) without them."""
    environ = os.environ if environ is None else environ
    present = [name for name in ENV if name in environ]
    if not present:
        return Ranks()
    missing = [name for name in ENV if name not in environ]
    if missing:
        raise DistributedError(
            f"{', '.join(present)} set but not {', '.join(missing)}: {HOW}, or unset "
            f"{', '.join(present)} to train in one process"
        )
    try:
        rank, world_size, local_rank = (int(environ[name]) for name in ENV)
    except ValueError:
        shown = ", ".join(f"{name}={environ[name]!r}" for name in ENV)
        raise DistributedError(f"torchrun variables are not whole numbers: {shown}") from None
    if world_size < 1 or not 0 <= rank < world_size or local_rank < 0:
        raise DistributedError(
            f"RANK {rank}, WORLD_SIZE {world_size}, LOCAL_RANK {local_rank} do not fit "
            f"together: {HOW}"
        )
    if world_size > 1:
        missing = [name for name in RENDEZVOUS if not environ.get(name)]
        if missing:
            raise DistributedError(f"{' and '.join(missing)} not set: {HOW}")
    return Ranks(rank, world_size, local_rank)


def rank_device(name: str, local_rank: int) -> torch.device:
    """The device of a rank: ``learning.device`` auto (with GPUs) or cuda is ``cuda:LOCAL_RANK``,
    cpu is the CPU; a configured ``cuda:N`` is refused, as every rank would take that one GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise DistributedError(
            f"learning.device {name!r}: training across processes runs on cpu (gloo) or cuda (NCCL)"
        )
    if device.index is not None:
        raise DistributedError(
            f"learning.device {name!r} names one GPU, but each process of a torchrun trains on "
            "its own (cuda:LOCAL_RANK): use --device cuda or auto"
        )
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if local_rank >= count:
        raise DistributedError(
            f"LOCAL_RANK {local_rank} has no GPU: this machine has {count} CUDA device(s); run "
            f"torchrun with --nproc_per_node {count} or fewer, or train on cpu"
        )
    return torch.device("cuda", local_rank)


def backend(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


@contextmanager
def processes(device_name: str, environ: Mapping[str, str] | None = None):
    """The ``Ranks`` of this process for the block: under torchrun with K > 1 processes the
    default process group is started for it (and destroyed after); otherwise one process and no
    group, exactly as without torchrun."""
    ranks = torchrun_ranks(environ)
    if not ranks.active:
        yield ranks
        return
    device = rank_device(device_name, ranks.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(
        backend(device),
        rank=ranks.rank,
        world_size=ranks.world_size,
        device_id=device if device.type == "cuda" else None,
    )
    try:
        yield ranks
    finally:
        dist.destroy_process_group()


def current() -> Ranks:
    """The ranks of the running process group, or one process when there is none."""
    if not (dist.is_available() and dist.is_initialized()):
        return Ranks()
    return Ranks(
        dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank()))
    )


def barrier() -> None:
    """Every rank waits here for the others (nothing to wait for in one process)."""
    if current().active:
        dist.barrier()


@contextmanager
def main_first():
    """Rank 0 runs the block before the other ranks do (it fills caches they then read)."""
    ranks = current()
    if not ranks.main:
        barrier()
    yield
    if ranks.main:
        barrier()


def sum_over_ranks(values: Sequence[float]) -> list[float]:
    """Each value summed over the ranks (in float64; the values themselves in one process)."""
    if not current().active:
        return list(values)
    device = torch.device("cuda", torch.cuda.current_device()) if _nccl() else "cpu"
    tensor = torch.tensor(list(values), dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.cpu().tolist()


def _nccl() -> bool:
    return dist.get_backend() == "nccl"


def rank_batch(batch_size: int, world_size: int) -> int:
    """Each rank's batch: ``batch_size / K``, so the K ranks' batches make one process's batch
    (and DDP's averaged gradient its gradient; the learning rate needs no change)."""
    if world_size < 1 or batch_size % world_size:
        raise DistributedError(
            f"learning.batch_size {batch_size} does not split over {world_size} processes: "
            f"each trains on batch_size / K; use a batch size that is a multiple of {world_size} "
            "or another --nproc_per_node"
        )
    return batch_size // world_size


class ShardSampler(Sampler[int]):
    """One rank's share of another sampler's epoch.

    Every rank iterates ``sampler`` (the same class and generator seed on every rank, so the same
    epoch order) and takes every ``world_size``-th index from position ``rank`` on: with a batch
    of ``batch_size / world_size`` per rank, the ranks' batches at one step together are the
    batch one process takes from the same order. With ``drop_last`` the epoch is first cut to
    whole global batches (as one process drops its last short batch); otherwise it is padded with
    its first indices to a multiple of ``world_size``. Every rank gets the same count, so no rank
    waits for a gradient another never computes.
    """

    def __init__(
        self, sampler: Sampler[int], rank: int, world_size: int, batch_size: int, drop_last: bool
    ) -> None:
        if not 0 <= rank < world_size:
            raise DistributedError(f"rank {rank} is not one of {world_size}")
        rank_batch(batch_size, world_size)
        self.sampler = sampler
        self.rank = rank
        self.world_size = world_size
        self.batch_size = batch_size
        self.drop_last = drop_last

    def _epoch_length(self, n: int) -> int:
        if self.drop_last and n >= self.batch_size:
            return n // self.batch_size * self.batch_size
        return math.ceil(n / self.world_size) * self.world_size

    def __len__(self) -> int:
        return self._epoch_length(len(self.sampler)) // self.world_size  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[int]:
        order = list(iter(self.sampler))
        length = self._epoch_length(len(order))
        while len(order) < length:  # pad (never more than world_size - 1 indices)
            order += order[: length - len(order)]
        return iter(order[:length][self.rank :: self.world_size])
