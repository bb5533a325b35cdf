"""What the accuracy checks' evidence costs the grader, per model and test set.

The accuracy checks of labs 1 and 3 take the accuracy of the student's own model, and check that
it is the model's: they recompute what the trained weights define with the grader's own forward
pass (gpukit/grading/architecture.py, the numpy twin for Keras in
gpukit/labs/core_mnist/checks.py) and compare, and they run the model on the 5,000 training
images the grading kernel held back (gpukit/grading/accuracy.py). This script times, on the real
test sets and with trained-size models on the CPU (2 torch threads, as a grading kernel on this
machine):

* before: the student's model on the test set alone;
* after: ``torch_accuracy`` (the model's own output, the weights found by one forward on 16
  random inputs and its input scaling by two backward passes, the grader's float64 forward over
  the test set, the model on the held-back images) and, for Keras, the grader's numpy forward
  plus the model's own.

Run: ``.venv/bin/python bench/accuracy_from_weights.py [--data-dir DIR] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def median_seconds(function, repeat: int) -> float:
    function()  # warm-up: first-call allocations and kernels
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ["GPUKIT_DATA_DIR"] = str(args.data_dir)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import numpy as np
    import torch
    import torch._dynamo  # noqa: F401  (before TensorFlow)
    from torch import nn

    from gpukit.grading.accuracy import torch_accuracy
    from gpukit.grading.architecture import RELU, Linear, Network
    from gpukit_student import load_fashion_mnist, load_mnist

    torch.set_num_threads(2)
    rows = []
    mnist_x = torch.from_numpy(load_mnist()[1][0]).float() / 255.0
    try:
        fashion_x, fashion_name = (torch.from_numpy(load_fashion_mnist()[1][0]).float() / 255.0,
                                   "lab 3 FashionANN")
    except Exception:  # no Fashion-MNIST here: time lab 3's network on MNIST's images
        fashion_x, fashion_name = mnist_x, "lab 3 FashionANN*"
    cases = [
        ("lab 1 MnistMLP", Network("MnistMLP", (Linear(784, 128), RELU, Linear(128, 10)),
                                   (28, 28)),
         nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)),
         mnist_x),
        (fashion_name, Network("FashionANN", (Linear(784, 256), RELU, Linear(256, 128),
                                                    RELU, Linear(128, 10)), (28, 28)),
         nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                       nn.ReLU(), nn.Linear(128, 10)), fashion_x),
    ]
    for name, network, model, images in cases:
        model.eval()

        def before(model=model, images=images):
            with torch.no_grad():
                model(images)

        labels = np.zeros(len(images), dtype=np.int64)
        held = (images[:5000], labels[:5000])  # as many as a grading kernel holds back

        def after(model=model, network=network, images=images, labels=labels, held=held):
            torch_accuracy(model, network, (images, labels), held)

        rows.append((name, len(images), median_seconds(before, args.repeat),
                     median_seconds(after, args.repeat)))

    core = importlib.import_module("gpukit.labs.core_mnist.checks")
    import keras

    keras_model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                                    keras.layers.Dense(128, activation="relu"),
                                    keras.layers.Dense(10, activation="softmax")])
    x = core.scaled(load_mnist()[1][0])
    rows.append(("lab 1 Keras MLP", len(x),
                 median_seconds(lambda: np.asarray(keras_model(x, training=False)), args.repeat),
                 median_seconds(lambda: core.keras_probabilities(keras_model, x), args.repeat)))

    print(f"{'model':18} {'test images':>11} {'before (s)':>11} {'after (s)':>10} "
          f"{'extra (s)':>10}")
    for name, count, old, new in rows:
        print(f"{name:18} {count:>11} {old:>11.3f} {new:>10.3f} {new - old:>10.3f}")
    if fashion_name.endswith("*"):
        print("* on MNIST's test images: no Fashion-MNIST in the data directory (same sizes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
