"""Benchmark of the grasp network: training and inference patches/s for every profile.

Times full steps on random patches of each profile's input size (forward, executed-bin loss,
backward, SGD step for training; a no-grad forward for inference) after a warm-up, so the
figures are the network's own cost on this machine, without data loading.

    python benchmarks/bench_learning.py                 # every profile, rgb inputs
    python benchmarks/bench_learning.py --profile resnet --inputs rgbd --seconds 20
    python benchmarks/bench_learning.py --device cuda --batch 256   # on a GPU
"""

from __future__ import annotations

import argparse
import time

import torch

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=sorted(INPUT_PX), action="append")
    parser.add_argument("--inputs", choices=sorted(INPUTS), action="append")
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--batch", type=int, help="training batch (default 64, paper 16)")
    args = parser.parse_args(argv)
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
