"""Benchmark of the grasp network: training and inference patches/s for every profile.

Times full steps on random patches of each profile's input size (forward, executed-bin loss,
backward, SGD step for training; a no-grad forward for inference) after a warm-up, so the
figures are the network's own cost on this machine, without data loading.

    python benchmarks/bench_learning.py                 # every profile, rgb inputs
    python benchmarks/bench_learning.py --profile resnet --inputs rgbd --seconds 20
    python benchmarks/bench_learning.py --device cuda --batch 256   # on a GPU

``--processes K`` (repeatable) instead times training in K processes: the script starts itself
under ``torchrun --standalone --nproc_per_node K`` and each process steps DistributedDataParallel
with batch / K patches (gloo on the CPU, NCCL with one GPU a process), as ``train`` does under
torchrun; K = 1 is one process without DDP. The figure is the whole model's patches/s:

    python benchmarks/bench_learning.py --profile cpu --processes 1 --processes 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

import torch

from supersize_grasp.models import distributed
from supersize_grasp.models.network import INPUT_PX, INPUTS, GraspNet, executed_bin_loss
from supersize_grasp.models.training import resolve_device


def _rate(step, batch: int, seconds: float, device: torch.device) -> float:
    step()  # warm-up: allocations and kernel selection
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        done += batch
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return done / (time.perf_counter() - start)


def bench(
    profile: str,
    train_batch: int,
    infer_batch: int,
    seconds: float,
    device: torch.device,
    inputs: str = "rgb",
) -> tuple[float, float]:
    torch.manual_seed(0)
    net = GraspNet(profile, inputs=inputs).to(device)
    px, c = net.input_px, net.in_channels
    x = torch.randn(train_batch, c, px, px, device=device)
    bins = torch.randint(net.num_bins, (train_batch,), device=device)
    labels = torch.randint(2, (train_batch,), device=device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def train_step() -> None:
        loss = executed_bin_loss(net(x), bins, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    net.train()
    training = _rate(train_step, train_batch, seconds, device)
    net.eval()
    batch = torch.randn(infer_batch, c, px, px, device=device)

    @torch.no_grad()
    def infer_step() -> None:
        net(batch)

    inference = _rate(infer_step, infer_batch, seconds, device)
    return training, inference


def bench_ranks(profile: str, batch: int, seconds: float, device_name: str, inputs: str) -> None:
    """One torchrun process: DDP training steps on random patches; rank 0 prints the rate."""
    with distributed.processes(device_name) as ranks:
        device = resolve_device(device_name, ranks)
        local = distributed.rank_batch(batch, ranks.world_size)
        torch.manual_seed(ranks.rank)
        net = GraspNet(profile, inputs=inputs).to(device)
        model = net
        if ranks.active:
            ids = [device] if device.type == "cuda" else None
            model = torch.nn.parallel.DistributedDataParallel(net, device_ids=ids)
        px, c = net.input_px, net.in_channels
        x = torch.randn(local, c, px, px, device=device)
        bins = torch.randint(net.num_bins, (local,), device=device)
        labels = torch.randint(2, (local,), device=device)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        model.train()

        def step() -> None:
            loss = executed_bin_loss(model(x), bins, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        def timed(n: int) -> float:  # every rank takes the same n steps (each syncs gradients)
            distributed.barrier()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            for _ in range(n):
                step()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            distributed.barrier()
            return time.perf_counter() - start

        timed(1)  # warm-up: allocations, kernel selection, DDP's buckets
        probe = distributed.sum_over_ranks([timed(3) / 3])[0] / ranks.world_size  # s a step
        steps = max(3, round(seconds / max(probe, 1e-6)))
        rate = steps * batch / timed(steps)
        if ranks.main:
            how = (
                f"DDP {distributed.backend(device)}, batch {local} each"
                if ranks.active
                else "one process, no DDP"
            )
            print(
                f"{profile:6s} profile, {inputs:4s}, K = {ranks.world_size}: training "
                f"{rate:7.1f} patches/s (batch {batch}; {how}; {device.type})",
                flush=True,
            )


def _torchrun(processes: int, args: argparse.Namespace, profile: str, inputs: str) -> None:
    launcher = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    command = [launcher] if launcher else [sys.executable, "-m", "torch.distributed.run"]
    command += ["--standalone", "--nproc_per_node", str(processes), os.path.abspath(__file__)]
    command += ["--worker", "--profile", profile, "--inputs", inputs, "--device", args.device]
    command += ["--seconds", str(args.seconds), "--batch", str(args.batch or 64)]
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    subprocess.run(command, check=True, env=env)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=sorted(INPUT_PX), action="append")
    parser.add_argument("--inputs", choices=sorted(INPUTS), action="append")
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--batch", type=int, help="training batch (default 64, paper 16)")
    parser.add_argument(
        "--processes",
        type=int,
        action="append",
        metavar="K",
        help="train in K processes under torchrun (repeatable); default batch 64 for every profile",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        for profile in args.profile:
            for inputs in args.inputs:
                bench_ranks(profile, args.batch, args.seconds, args.device, inputs)
        return
    if args.processes:
        print(f"torch {torch.__version__}, {os.cpu_count()} CPU cores; torchrun per K")
        for k in args.processes:
            for profile in args.profile or ("cpu",):
                for inputs in args.inputs or ("rgb",):
                    _torchrun(k, args, profile, inputs)
        return
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {device} ({name})")
    for profile in args.profile or ("cpu", "resnet", "paper"):
        for inputs in args.inputs or ("rgb",):
            batch = args.batch or (16 if profile == "paper" else 64)
            training, inference = bench(profile, batch, 4 * batch, args.seconds, device, inputs)
            print(
                f"{profile:6s} profile, {inputs:4s}: training {training:7.1f} patches/s "
                f"(batch {batch}), inference {inference:7.1f} patches/s (batch {4 * batch})"
            )


if __name__ == "__main__":
    main()
