"""Benchmark of the grasp network: training and inference patches/s for both profiles.

Times full steps on random patches of each profile's input size (forward, executed-bin loss,
backward, SGD step for training; a no-grad forward for inference) after a warm-up, so the
figures are the network's own cost on this machine, without data loading.

    python benchmarks/bench_learning.py                 # both profiles
    python benchmarks/bench_learning.py --profile cpu --seconds 20
"""

from __future__ import annotations

import argparse
import time

import torch

from supersize_grasp.models.network import GraspNet, executed_bin_loss


def _rate(step, batch: int, seconds: float) -> float:
    step()  # warm-up: allocations and kernel selection
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        done += batch
    return done / (time.perf_counter() - start)


def bench(profile: str, train_batch: int, infer_batch: int, seconds: float) -> tuple[float, float]:
    torch.manual_seed(0)
    net = GraspNet(profile)
    px = net.input_px
    x = torch.randn(train_batch, 3, px, px)
    bins = torch.randint(net.num_bins, (train_batch,))
    labels = torch.randint(2, (train_batch,))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def train_step() -> None:
        loss = executed_bin_loss(net(x), bins, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    net.train()
    training = _rate(train_step, train_batch, seconds)
    net.eval()
    batch = torch.randn(infer_batch, 3, px, px)

    @torch.no_grad()
    def infer_step() -> None:
        net(batch)

    inference = _rate(infer_step, infer_batch, seconds)
    return training, inference


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=("cpu", "paper"), action="append")
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for profile in args.profile or ("cpu", "paper"):
        batch = 64 if profile == "cpu" else 16
        training, inference = bench(profile, batch, 4 * batch, args.seconds)
        print(
            f"{profile:5s} profile: training {training:7.1f} patches/s (batch {batch}), "
            f"inference {inference:7.1f} patches/s (batch {4 * batch})"
        )


if __name__ == "__main__":
    main()
