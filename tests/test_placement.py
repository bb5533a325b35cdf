"""The device-placement observer, on the CPU: each way of getting placement wrong is caught."""

from __future__ import annotations

import torch
from torch import nn

from gpukit.grading.placement import SIMULATED_DEVICE, observe_training


def make_model() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))


def data():
    return torch.rand(40, 4, 4), torch.randint(0, 3, (40,))


def trainer(move_model=True, move_batches=True, move_dataset=False, target=None):
    """A training loop in the style students write, with one placement mistake switched on."""

    def train(model, x, y, device):
        where = target or device
        if move_model:
            model.to(where)
        if move_dataset:
            x, y = x.to(where), y.to(where)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for start in range(0, len(x), 10):
            xb, yb = x[start:start + 10], y[start:start + 10]
            if move_batches:
                xb, yb = xb.to(where), yb.to(where)
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            loss.item()  # students log the loss: must work under observation
    return train


def observe(train):
    model = make_model()
    x, y = data()
    return observe_training(lambda device: train(model, x, y, device), model)


def test_the_cpu_grader_simulates_a_distinct_device():
    assert SIMULATED_DEVICE != torch.device("cpu")
    assert torch.zeros(2).to(SIMULATED_DEVICE).sum().item() == 0  # it computes for real


def test_correct_loop_passes():
    report = observe(trainer())
    assert report.forward_calls == 4
    assert (report.inputs_off_device, report.params_off_device) == (0, 0)


def test_batches_never_moved_are_caught():
    report = observe(trainer(move_batches=False))
    assert report.inputs_off_device == 4 and report.params_off_device == 0


def test_model_never_moved_is_caught():
    report = observe(trainer(move_model=False))
    assert report.params_off_device == 4 and report.inputs_off_device == 0


def test_hard_coded_cpu_is_not_the_device():
    report = observe(trainer(target="cpu"))
    assert report.inputs_off_device == 4 and report.params_off_device == 4


def test_dataset_moved_once_before_the_loop_counts_as_on_device():
    report = observe(trainer(move_batches=False, move_dataset=True))
    assert (report.inputs_off_device, report.params_off_device) == (0, 0)


def test_marks_do_not_outlive_the_observation():
    model = make_model()
    x, y = data()
    observe_training(lambda device: trainer()(model, x, y, device), model)
    report = observe_training(lambda device: trainer(move_model=False)(model, x, y, device),
                              model)
    assert report.params_off_device == 4
