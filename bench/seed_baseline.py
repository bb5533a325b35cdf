"""The course's original ("seed") MNIST training code, timed, for one framework per process.

Usage::

    python bench/seed_baseline.py keras --data-dir /work/shared/data
    python bench/seed_baseline.py torch --data-dir /work/shared/data

Prints one JSON line on stdout: ``{"framework", "train_seconds", "accuracy", ...}``.

This reproduces the code the lab started from, on purpose without the reference solution's
speed-ups (Keras: default ``steps_per_execution``; PyTorch: a ``torchvision`` ``DataLoader`` that
assembles every batch sample by sample, batch size 64). Only what cannot run offline is changed:
Keras gets its arrays from gpukit's loader instead of ``keras.datasets.mnist.load_data()`` (which
downloads), and torchvision finds the raw files already extracted so that ``download=True`` fetches
nothing.

Each framework runs in its own process: importing TensorFlow and PyTorch's optimizers in one process
can abort with "LLVM ERROR ... registered more than once", and a fresh process also keeps one
framework's thread pools and caches from affecting the other's timing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

EPOCHS = 5
SEED = 0
RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def run_keras(data_dir: Path) -> dict:
    """Train and evaluate the seed Keras MLP; return its timing and accuracy."""
    # Must be set before TensorFlow is first imported, or its C++ logging is already configured.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from gpukit_student.data import load_mnist

    keras.utils.set_random_seed(SEED)
    # Same arrays as keras.datasets.mnist.load_data() (uint8, (N, 28, 28)), read offline.
    (x_train, y_train), (x_test, y_test) = load_mnist(data_dir)
    x_train, x_test = x_train / 255.0, x_test / 255.0
    y_train = keras.utils.to_categorical(y_train, 10)
    y_test = keras.utils.to_categorical(y_test, 10)

    model = keras.Sequential([
        # The seed code's style; Keras 3 accepts it (with a warning that goes to stderr).
        keras.layers.Flatten(input_shape=(28, 28)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])

    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=EPOCHS, verbose=0)  # default batch_size=32
    train_seconds = time.perf_counter() - start

    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return {"train_seconds": train_seconds, "accuracy": float(accuracy),
            "batch_size": 32, "version": keras.__version__}


def extract_raw_files(data_dir: Path, root: Path) -> None:
    """Gunzip the four MNIST files into ``root/MNIST/raw/``, where torchvision looks for them."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    source = data_dir / "mnist"
    for name in RAW_FILES:
        gz, plain = source / f"{name}.gz", source / name
        if gz.is_file():
            with gzip.open(gz, "rb") as src, open(raw / name, "wb") as dst:
                shutil.copyfileobj(src, dst)
        elif plain.is_file():
            shutil.copyfile(plain, raw / name)
        else:
            raise FileNotFoundError(f"MNIST file {name}(.gz) not found in {source}")


def build_seed_net():
    """The seed code's model: Flatten -> Linear(784, 128) -> ReLU -> Linear(128, 10).

    Defined inside a function so that the Keras run of this script never imports torch.
    """
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.fc1 = nn.Linear(784, 128)
            self.relu = nn.ReLU()
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            return self.fc2(self.relu(self.fc1(self.flatten(x))))

    return Net()


def run_torch(data_dir: Path) -> dict:
    """Train and evaluate the seed PyTorch MLP; return its timing and accuracy."""
    import torch
    import torchvision
    from torch import nn
    from torchvision import datasets, transforms

    torch.manual_seed(SEED)
    transform = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((0.1307,), (0.3081,)),
    ])
    with tempfile.TemporaryDirectory(prefix="seed-mnist-") as tmp:
        extract_raw_files(data_dir, Path(tmp))
        # download=True as in the seed code: the raw files exist, so nothing is fetched.
        train_set = datasets.MNIST(root=tmp, train=True, download=True, transform=transform)
        test_set = datasets.MNIST(root=tmp, train=False, download=True, transform=transform)
        train_loader = torch.utils.data.DataLoader(train_set, batch_size=64, shuffle=True)
        test_loader = torch.utils.data.DataLoader(test_set, batch_size=1000)

        model = build_seed_net()
        criterion = nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

        start = time.perf_counter()
        for _epoch in range(EPOCHS):
            model.train()
            for images, labels in train_loader:
                optimizer.zero_grad()
                loss = criterion(model(images), labels)
                loss.backward()
                optimizer.step()
        train_seconds = time.perf_counter() - start

        model.eval()
        correct = 0
        with torch.no_grad():
            for images, labels in test_loader:
                correct += (model(images).argmax(dim=1) == labels).sum().item()
        accuracy = correct / len(test_set)
    return {"train_seconds": train_seconds, "accuracy": accuracy, "batch_size": 64,
            "version": f"torch {torch.__version__}, torchvision {torchvision.__version__}"}


RUNNERS = {"keras": run_keras, "torch": run_torch}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("framework", choices=sorted(RUNNERS))
    parser.add_argument("--data-dir", type=Path, required=True,
                        help="directory holding mnist/ with the four IDX files (.gz or plain)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run one framework's seed code and print its result as one JSON line."""
    args = parse_args(argv)
    result = RUNNERS[args.framework](args.data_dir.resolve())
    result = {"framework": args.framework, "epochs": EPOCHS, **result}
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
