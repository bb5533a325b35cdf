"""The accuracy a model gets is the accuracy of the model the student built, and it is its own
(gpukit/grading/accuracy.py): real MNIST, the lab-1 MLP, the grading kernel's held-back rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gpukit.grading.accuracy import fitted_to_test, torch_accuracy
from gpukit.grading.architecture import RELU, Linear, Network
from gpukit.grading.basics import IntegrityFinding
from gpukit_student.data import held_back, load_held_back, load_mnist
from gpukit_student.training import TrainingWatch

MLP = Network("MnistMLP", (Linear(784, 128), RELU, Linear(128, 10)), (28, 28))
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.mark.parametrize(("test", "held", "flagged"), [
    (0.9768, 0.9726, False),  # the MLP after five honest epochs (measured)
    (0.9661, 0.9638, False),  # after two
    (0.9946, 0.9950, False),  # better on the held-back images: never suspicious
    (1.0, 1.0, False),        # perfect on both
    (0.9927, 0.9714, True),   # then fine-tuned on the test set for two epochs (measured)
    (1.0, 0.95, True),        # looks the test images up
])
def test_the_test_set_may_not_score_far_above_unseen_images(test, held, flagged):
    problem = fitted_to_test(test, 10000, held, 5000, "PyTorch model")
    assert (problem is not None and problem.integrity) == flagged


def _scaled(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x).float() / 255.0


def _train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int) -> None:
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(epochs):
        for begin in range(0, len(x), 128):
            optimizer.zero_grad()
            F.cross_entropy(model(x[begin:begin + 128]), y[begin:begin + 128]).backward()
            optimizer.step()


class StandardisedScratchMLP(nn.Module):
    """d2l's MLP from scratch with pytorch/examples' normalisation, in float64."""

    def __init__(self):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.W1 = nn.Parameter(torch.randn(784, 128, generator=generator, dtype=torch.float64)
                               * 0.05)
        self.b1 = nn.Parameter(torch.zeros(128, dtype=torch.float64))
        self.W2 = nn.Parameter(torch.randn(128, 10, generator=generator, dtype=torch.float64)
                               * 0.05)
        self.b2 = nn.Parameter(torch.zeros(10, dtype=torch.float64))

    def forward(self, x):
        x = ((x - 0.1307) / 0.3081).reshape(-1, 784).double()
        return torch.relu(x @ self.W1 + self.b1) @ self.W2 + self.b2


def test_a_model_trained_on_the_test_set_is_seen(monkeypatch):
    if not (DATA / "mnist").is_dir():
        pytest.skip(f"the real MNIST files are not in {DATA / 'mnist'}")
    monkeypatch.setattr(held_back._STATE, "seed", 2026)  # as in a grading kernel
    (x_train, y_train), (x_test, y_test) = load_mnist(DATA)
    x_held, y_held = load_held_back("mnist", DATA)
    test = (_scaled(x_test), y_test)
    held = (_scaled(x_held), y_held)
    torch.manual_seed(0)
    model = StandardisedScratchMLP()
    _train(model, _scaled(x_train), torch.from_numpy(y_train).long(), epochs=1)

    honest = torch_accuracy(model, MLP, test, held)
    assert honest > 0.93  # measured by its own forward pass: its spelling costs nothing

    _train(model, test[0], torch.from_numpy(y_test).long(), epochs=2)
    with pytest.raises(IntegrityFinding, match="on the test set but 0.9"):
        torch_accuracy(model, MLP, test, held)


def test_the_steps_a_model_took_on_test_images_are_counted():
    """The grader counts the test images a gradient step of the graded model followed, however
    the notebook scaled them; a forward without a step (an evaluation that forgot no_grad), or
    another model's steps, count nothing."""
    watch = TrainingWatch()
    handle = watch.install()
    try:
        generator = torch.Generator().manual_seed(0)
        train = torch.rand(512, 28, 28, generator=generator)
        test = torch.rand(300, 28, 28, generator=generator)
        model, other = StandardisedScratchMLP(), StandardisedScratchMLP()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        batches = [train[:256], train[256:], (test[:120] - 0.5) / 0.25, test[120:200].double()]
        for batch in batches:
            optimizer.zero_grad()
            model(batch).sum().backward()
            optimizer.step()
        model(test[200:]).sum()  # a forward in training mode, with gradients, and no step
        _train(other, test[200:], torch.zeros(100, dtype=torch.long), epochs=1)
        watch.end_of_cell()
        assert watch.steps_on(model.parameters(), test) == 200
        assert watch.steps_on(other.parameters(), test) == 100
        assert watch.steps_on(SeedStyle().parameters(), test) == 0
    finally:
        handle.remove()


class SeedStyle(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))
