"""How hard is the generated Fashion-MNIST stand-in to learn? Trains small networks and reports.

The stand-in (gpukit_student/data/standin.py) should sit in the same regime as the real
Fashion-MNIST (where this MLP reaches about 0.87 in a few epochs): clearly learnable, not trivially
solved. For each seed, on the CPU with 2 torch threads, this script measures:

* the test accuracy of an untrained MLP (chance is 0.10);
* the MLP Flatten -> Linear(784, 256) -> ReLU -> Linear(256, 128) -> ReLU -> Linear(128, 10),
  Adam(lr=1e-3), CrossEntropyLoss, batches of 64 shuffled each epoch, pixels / 255, after 20
  batches and after 3 epochs (targets: clearly below 0.80, and between about 0.88 and 0.96);
* the CNN Conv2d(1, 64, 3, padding=1) -> ReLU -> MaxPool2d(2) -> Conv2d(64, 128, 3, padding=1) ->
  ReLU -> MaxPool2d(2) -> Flatten -> Linear(6272, 512) -> ReLU -> Linear(512, 10), trained the
  same way for 100 batches (target: above 0.6);
* the time generate_fashion_standin() takes (target: well under 2 s), best and worst of 3.

The script prints what it measures and hard-codes no result. Measured on 2026-11-22 on this 2-core
machine (Intel Xeon, load average 0.9; torch 2.15 with 2 threads, numpy 2.4), seeds 0 to 4:

    untrained MLP        0.073 .. 0.109
    MLP, 20 batches      0.550 .. 0.674
    MLP, 3 epochs        0.886 .. 0.909   (train accuracy 0.887 .. 0.913: no over-fitting;
                                           0.8 .. 1.1 s of training)
    CNN, 100 batches     0.852 .. 0.911   (6.4 .. 7.4 s of training)
    generation           0.37 .. 0.42 s   (best and worst of 3)

The whole run took 50 s.

Run: /tmp/venv/bin/python bench/standin_difficulty.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from torch import nn

from gpukit_student.data import generate_fashion_standin

BATCH_SIZE = 64


def mlp() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )


def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(6272, 512), nn.ReLU(), nn.Linear(512, 10),
    )


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    model.train()
    return (predicted == y).float().mean().item()


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batches: int, seed: int) -> float:
    """Train for ``batches`` batches (reshuffling each epoch); return the seconds it took."""
    shuffle = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    done = 0
    while done < batches:
        order = torch.randperm(len(x), generator=shuffle)
        for i in range(0, len(x), BATCH_SIZE):
            index = order[i:i + BATCH_SIZE]
            optimizer.zero_grad()
            loss_fn(model(x[index]), y[index]).backward()
            optimizer.step()
            done += 1
            if done == batches:
                break
    return time.perf_counter() - start


def measure(seed: int, data: tuple[torch.Tensor, ...]) -> dict[str, float]:
    x_train, y_train, x_test, y_test = data
    epoch = -(-len(x_train) // BATCH_SIZE)  # batches per epoch, the last one partial
    result: dict[str, float] = {}
    torch.manual_seed(seed)
    result["untrained"] = accuracy(mlp(), x_test, y_test)
    torch.manual_seed(seed)
    model = mlp()
    train(model, x_train, y_train, batches=20, seed=seed)
    result["mlp_20_batches"] = accuracy(model, x_test, y_test)
    torch.manual_seed(seed)
    model = mlp()
    result["mlp_3_epochs_s"] = train(model, x_train, y_train, batches=3 * epoch, seed=seed)
    result["mlp_3_epochs"] = accuracy(model, x_test, y_test)
    result["mlp_3_epochs_train"] = accuracy(model, x_train, y_train)
    torch.manual_seed(seed)
    model = cnn()
    images, test_images = x_train.unsqueeze(1), x_test.unsqueeze(1)  # (N, 1, 28, 28)
    result["cnn_100_batches_s"] = train(model, images, y_train, batches=100, seed=seed)
    result["cnn_100_batches"] = accuracy(model, test_images, y_test)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="torch seeds to run")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    times = []
    for _ in range(3):
        start = time.perf_counter()
        (x_train, y_train), (x_test, y_test) = generate_fashion_standin()
        times.append(time.perf_counter() - start)
    print(f"generate_fashion_standin(): {min(times):.2f} s best, {max(times):.2f} s worst of 3 "
          f"(train {x_train.shape}, test {x_test.shape}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")

    data = (
        torch.tensor(x_train, dtype=torch.float32) / 255, torch.tensor(y_train, dtype=torch.long),
        torch.tensor(x_test, dtype=torch.float32) / 255, torch.tensor(y_test, dtype=torch.long),
    )
    print(f"torch {torch.__version__}, numpy {np.__version__}, {torch.get_num_threads()} threads")
    print("seed  untrained  mlp 20 batches  mlp 3 epochs (train, s)  cnn 100 batches (s)")
    for seed in args.seeds:
        r = measure(seed, data)
        print(f"{seed:>4}  {r['untrained']:>9.3f}  {r['mlp_20_batches']:>14.3f}  "
              f"{r['mlp_3_epochs']:>12.3f} ({r['mlp_3_epochs_train']:.3f}, "
              f"{r['mlp_3_epochs_s']:.1f})  {r['cnn_100_batches']:>15.3f} "
              f"({r['cnn_100_batches_s']:.1f})", flush=True)


if __name__ == "__main__":
    main()
