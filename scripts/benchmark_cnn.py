"""Throughput of the book's small CNN, and how long it takes to reach 97 % on the MNIST subset.

    python scripts/benchmark_cnn.py                   # best available device (CUDA, MPS, else CPU)
    python scripts/benchmark_cnn.py --device cpu      # or cuda, cuda:1, mps
    python scripts/benchmark_cnn.py --threads 2       # CPU threads (default: torch's choice)

Prints images/second for training (forward + backward + Adam step) and for
inference (eval mode, no gradients) of ``SimpleCNN()`` on 28x28 inputs, then
trains it with the recipe of chapters/05_practice/03_cnn_image_classification
(3,500 training images, random-crop augmentation, Adam with a cosine schedule)
and reports the wall time until the test accuracy first reaches 97 %.
This is a benchmark, not a test: it never fails on time.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import helpers  # noqa: E402
from helpers.augment import Augmented, random_crop  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def throughput(device: torch.device, batch_size: int, seconds: float) -> tuple[float, float]:
    """Images per second for training steps and for inference, on random 28x28 inputs."""
    torch.manual_seed(0)
    model = helpers.SimpleCNN().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch_size, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (batch_size,), device=device)
    loss_fn = nn.CrossEntropyLoss()

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    @torch.no_grad()
    def infer_step():
        model(x)

    rates = []
    for step, train in ((train_step, True), (infer_step, False)):
        model.train(train)
        for _ in range(3):       # warm-up: allocations, kernel selection
            step()
        _sync(device)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            step()
            n += 1
            if n % 10 == 0:
                _sync(device)
        _sync(device)
        rates.append(n * batch_size / (time.perf_counter() - start))
    return rates[0], rates[1]


def time_to_accuracy(device: torch.device, target: float, max_epochs: int) -> tuple[float | None, int, float]:
    """Seconds (and epochs) until the test accuracy first reaches ``target``; also the final accuracy."""
    helpers.seed_everything(0)
    images, labels = helpers.load_mnist_subset()
    X = torch.tensor(images, dtype=torch.float32).unsqueeze(1) / 255
    y = torch.tensor(labels)
    X_train, _, X_test, y_train, _, y_test = helpers.train_val_test_split(
        X, y, val_size=0.1, test_size=0.2, stratify=labels, seed=0)
    mean, std = X_train.mean(), X_train.std()
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    train_loader = Augmented(helpers.make_loader(X_train, y_train, batch_size=64, shuffle=True, seed=0),
                             lambda x, g: random_crop(x, g, padding=2), seed=0)
    test_loader = helpers.make_loader(X_test, y_test, batch_size=500)
    model = helpers.SimpleCNN().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max_epochs)
    loss_fn = nn.CrossEntropyLoss()
    acc, train_time = 0.0, 0.0
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter()
        model.train()
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xb), yb).backward()
            opt.step()
        sched.step()
        _sync(device)
        train_time += time.perf_counter() - start
        acc = helpers.evaluate(model, test_loader, metrics={"acc": helpers.accuracy}, device=device)["acc"]
        print(f"  epoch {epoch}: test accuracy {acc:.2%} after {train_time:.1f}s of training")
        if acc >= target:
            return train_time, epoch, acc
    return None, max_epochs, acc


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best available)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per throughput figure")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads for CPU runs")
    parser.add_argument("--target", type=float, default=0.97)
    parser.add_argument("--max-epochs", type=int, default=8)
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = helpers.get_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"device: {device} ({name}) | torch {torch.__version__} | CPU threads {torch.get_num_threads()}")
    train_rate, infer_rate = throughput(device, args.batch_size, args.seconds)
    print(f"SimpleCNN, batch {args.batch_size}: training {train_rate:,.0f} images/s, "
          f"inference {infer_rate:,.0f} images/s")
    print(f"training on the MNIST subset until test accuracy >= {args.target:.0%}:")
    seconds, epochs, acc = time_to_accuracy(device, args.target, args.max_epochs)
    if seconds is None:
        print(f"did not reach {args.target:.0%} in {epochs} epochs (last: {acc:.2%})")
    else:
        print(f"reached {acc:.2%} after {epochs} epochs, {seconds:.1f}s of training")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
