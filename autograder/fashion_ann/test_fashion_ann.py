# Written by `gpukit release` from the kit's gpukit/labs/fashion_ann/checks.py
# and grading_config.py: change those, then run `gpukit release`; never edit this file.
# The grading kernel runs each test_<grade id> below on the student's live notebook
# (gpukit/grading/runner.py); `pytest autograder/fashion_ann --notebook PATH` runs them all.

"""Hidden checks of lab 3 (a Fashion-MNIST ANN on the GPU).

Each ``test_<name>`` is one graded cell of the notebook (grade id ``<name>``), run inside the
grading kernel by ``gpukit.grading.check``. The fixtures: ``nb`` (the student's namespace),
``lab`` (the lab's settings as released: settings.json beside this file in autograder/) and
``grader`` (the machine and policy).

Every failure message is one sentence for the student: it says what is wrong, never the check's
code or the expected value. The grader never trusts a number the notebook reports: it measures
the trained model's accuracy on its own copy of the test set, and it calls the student's
functions again on models of its own that record what happens inside them: the training mode and
gradient state at every forward pass, where the inputs, labels and parameters are (the simulated
device of gpukit/grading/placement.py on a CPU grader), each loss and each gradient.
"""

from __future__ import annotations

import contextlib
import copy
import math
from dataclasses import dataclass
from unittest import mock

import torch
from torch import nn

from gpukit.grading.accuracy import check_accuracy, torch_accuracy, trained_model
from gpukit.grading.architecture import RELU, Linear, Network, check_model
from gpukit.grading.basics import (
    call,
    check_device_selection,
    cuda_reported,
    fail,
    fail_on,
    notebook_device,
)
from gpukit.grading.gpu import check_trained_on_gpu
from gpukit.grading.observed import (
    check_gradients,
    check_inputs_placed,
    check_mode,
    check_on_host,
    check_ran,
    observe,
)
from gpukit.grading.placement import device_moves, grading_device, on_device
from gpukit.grading.values import plain_number
from gpukit_student.data import load_fashion_mnist, load_held_back

FASHION_ANN = Network("FashionANN", (Linear(784, 256), RELU, Linear(256, 128), RELU,
                                     Linear(128, 10)), (28, 28))


def unwrapped(model: nn.Module) -> nn.Module:
    """The model inside an nn.DataParallel (or the model itself)."""
    return model.module if isinstance(model, nn.DataParallel) else model


class GraderNet(nn.Module):
    """The grader's own small ANN, with dropout so that training and eval mode differ."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1234)
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Dropout(0.5),
                                    nn.Linear(32, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


# ---------------------------------------------------------------------------------------------
# Parts 1 and 2: device and model.
# ---------------------------------------------------------------------------------------------


def test_device(nb, grader):
    check_device_selection(nb, grader.gpu_available)


def test_ann_model(nb):
    """What the model computes from its own weights (gpukit/grading/architecture.py)."""
    model = call(nb.FashionANN, what="FashionANN()")
    if not isinstance(model, nn.Module):
        fail("FashionANN must be an nn.Module.")
    fail_on(check_model(model, FASHION_ANN, probe=grader_test_images()[:512]))


# ---------------------------------------------------------------------------------------------
# Part 3: one GPU or several.
# ---------------------------------------------------------------------------------------------


@dataclass
class Preparation:
    """What prepare_model() did with a fresh model on a machine with ``gpus`` GPUs."""

    gpus: int
    model: nn.Module
    returned: object = None
    error: Exception | None = None
    wrapped: bool = False  # an nn.DataParallel was created
    moved: bool = False    # the model's parameters ended on `device`

    @property
    def machine(self) -> str:
        if self.gpus == 0:
            return "without a GPU"
        return f"with {self.gpus} GPU" + ("s" if self.gpus > 1 else "")


def prepare_on(nb, gpus: int, device: torch.device, simulated: bool) -> Preparation:
    """prepare_model() on a fresh model; with ``simulated``, torch.cuda reports ``gpus`` GPUs."""
    result = Preparation(gpus, GraderNet())
    original_init = nn.DataParallel.__init__

    def recording_init(wrapper, *args, **kwargs):
        result.wrapped = True
        original_init(wrapper, *args, **kwargs)

    with cuda_reported(gpus) if simulated else contextlib.nullcontext(), \
            mock.patch.object(nn.DataParallel, "__init__", recording_init), \
            device_moves(device, result.model):
        try:
            result.returned = nb.prepare_model(result.model, device)
        except Exception as error:  # the student's code: reported below
            result.error = error
        result.moved = all(on_device(p, device) for p in result.model.parameters())
    return result


def check_preparation(done: Preparation) -> None:
    if done.gpus <= 1 and done.wrapped:
        fail(f"On a machine {done.machine}, prepare_model() must not wrap the model in "
             "nn.DataParallel: wrap it only when there is more than one GPU.")
    if done.error is not None:
        fail(f"On a machine {done.machine}, prepare_model() raised "
             f"{type(done.error).__name__}: {done.error}")
    if not isinstance(done.returned, nn.Module) or unwrapped(done.returned) is not done.model:
        fail(f"On a machine {done.machine}, prepare_model() must return the model it was given "
             "(wrapped or not).")
    if not done.moved:
        fail(f"On a machine {done.machine}, prepare_model() does not move the model to "
             "`device`.")
    if done.gpus > 1 and not isinstance(done.returned, nn.DataParallel):
        fail(f"On a machine {done.machine}, prepare_model() must wrap the model in "
             "nn.DataParallel.")


def test_multi_gpu(nb, grader):
    device = grading_device(grader.gpu_available)
    gpus_here = torch.cuda.device_count()
    with notebook_device(nb, device):
        check_preparation(prepare_on(nb, gpus_here, device, simulated=False))
        # The machines this grader is not: a CPU grader also asks as a one-GPU machine would,
        # and any grader with fewer than two GPUs as a two-GPU machine would.
        for gpus in (1, 2):
            if gpus > gpus_here:
                check_preparation(prepare_on(nb, gpus, device, simulated=True))


# ---------------------------------------------------------------------------------------------
# Part 4: training.
# ---------------------------------------------------------------------------------------------


def test_training_setup(nb, lab):
    check_cross_entropy(nb.loss_fn)
    optimizer = nb.optimizer
    if type(optimizer) is not torch.optim.Adam:
        fail("optimizer must be torch.optim.Adam.")
    optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if optimized != {id(p) for p in nb.model.parameters()}:
        fail("The optimizer does not hold the parameters of `model`: create it after "
             "prepare_model(), from model.parameters().")
    if not all(math.isclose(group["lr"], lab.learning_rate) for group in optimizer.param_groups):
        fail("The optimizer's learning rate must be LEARNING_RATE.")


def check_cross_entropy(loss_fn) -> None:
    """loss_fn computes the mean cross-entropy of logits and class labels: nn.CrossEntropyLoss()
    and F.cross_entropy both do; a softmax before it, label smoothing or a sum do not."""
    generator = torch.Generator().manual_seed(7)
    logits, labels = torch.randn(6, 10, generator=generator), torch.tensor([0, 3, 9, 1, 1, 5])
    expected = nn.functional.cross_entropy(logits, labels)
    try:
        value = loss_fn(logits, labels)
    except Exception:  # the student's object: not a loss of (logits, labels)
        value = None
    if type(value) is not torch.Tensor or value.shape != () or \
            not torch.isclose(value.detach(), expected, rtol=1e-5):
        fail("loss_fn must compute the cross-entropy of the logits and the labels "
             "(nn.CrossEntropyLoss()).")


class RecordingLoss(nn.CrossEntropyLoss):
    """Cross-entropy that remembers each batch's loss, size and where the labels were."""

    def __init__(self, device: torch.device) -> None:
        super().__init__()
        self.device = device
        self.losses: list[float] = []
        self.samples = 0
        self.labels_off_device = 0

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if not on_device(target, self.device):
            self.labels_off_device += 1
        loss = super().forward(logits, target)
        self.losses.append(float(loss.detach()))
        self.samples += len(target)
        return loss


class RecordingSGD(torch.optim.SGD):
    """SGD that checks, at every step, that the gradients are those of the last batch alone."""

    def __init__(self, params) -> None:
        self.params_list = list(params)
        super().__init__(self.params_list, lr=0.05)
        self.steps = 0
        self.stale_steps = 0
        self.last_gradient: dict[int, torch.Tensor] = {}
        for p in self.params_list:
            p.register_hook(self._remember(p))

    def _remember(self, p: torch.Tensor):
        def hook(gradient: torch.Tensor) -> None:
            self.last_gradient[id(p)] = gradient.detach().clone()
        return hook

    def step(self, closure=None):
        self.steps += 1
        # Without zero_grad() the gradients accumulate: .grad is then not this batch's gradient.
        if any(p.grad is not None and id(p) in self.last_gradient
               and not torch.allclose(p.grad, self.last_gradient[id(p)], atol=1e-7)
               for p in self.params_list):
            self.stale_steps += 1
        return super().step(closure)


TRAIN_SAMPLES, TRAIN_BATCH = 96, 16  # six full batches: batch mean = sample mean


def test_train_epoch(nb, grader):
    model = GraderNet()
    model.eval()  # train_epoch must switch to training mode itself
    x = torch.rand(TRAIN_SAMPLES, 28, 28)
    y = torch.randint(0, 10, (TRAIN_SAMPLES,))
    before = copy.deepcopy(model.state_dict())
    loss_fn = RecordingLoss(grading_device(grader.gpu_available))

    def run(d: torch.device) -> tuple:
        model.to(d)
        optimizer = RecordingSGD(model.parameters())
        return call(nb.train_epoch, model, x, y, loss_fn, optimizer, d, TRAIN_BATCH,
                    what="train_epoch(model, x, y, loss_fn, optimizer, device, 16)"), optimizer

    seen = observe(nb, grader, model, run)
    mean_loss, optimizer = seen.returned
    check_ran(seen, "train_epoch()")
    check_mode(seen, "train_epoch()", training=True)
    check_inputs_placed(seen, "train_epoch()")  # the grader moved the model itself
    if loss_fn.labels_off_device:
        fail("train_epoch() computes the loss with labels that are not on `device`: move the "
             "labels too.")
    if not loss_fn.losses:
        fail("train_epoch() must compute each batch's loss with the loss_fn it is given.")
    if loss_fn.samples != TRAIN_SAMPLES or len(loss_fn.losses) != TRAIN_SAMPLES // TRAIN_BATCH:
        fail("train_epoch() must go over every sample exactly once, in batches of batch_size.")
    if optimizer.steps != len(loss_fn.losses):
        fail("train_epoch() must step the optimizer once per batch.")
    if optimizer.stale_steps:
        fail("train_epoch() steps with gradients accumulated over several batches: call "
             "optimizer.zero_grad() for every batch.")
    model.to("cpu")
    if all(torch.equal(before[k], v.detach()) for k, v in model.state_dict().items()):
        fail("train_epoch() does not change the model's weights: back-propagate the loss and "
             "step the optimizer.")
    reported = plain_number(mean_loss)
    expected = sum(loss_fn.losses) / len(loss_fn.losses)
    if reported is None or not math.isclose(reported, expected, rel_tol=1e-4, abs_tol=1e-6):
        fail("train_epoch() must return the epoch's mean loss, as a float.")


def test_trained_on_gpu(nb, grader):
    model = trained_model(nb.model, "model", FASHION_ANN)
    check_trained_on_gpu(grader, "Training the model on the GPU",
                         lambda: all(p.is_cuda for p in model.parameters()),
                         weights="The trained model's parameters", framework="PyTorch")


# ---------------------------------------------------------------------------------------------
# Part 5: inference and accuracy.
# ---------------------------------------------------------------------------------------------


def test_predict(nb, grader):
    model = GraderNet()
    x = torch.rand(300, 28, 28)
    reference = copy.deepcopy(model).eval()
    with torch.no_grad():
        expected = reference(x).argmax(dim=1)
    model.train()  # predict must switch to evaluation mode itself

    def run(d: torch.device) -> torch.Tensor:
        model.to(d)
        return call(nb.predict, model, x, d, what="predict(model, x, device)")

    seen = observe(nb, grader, model, run, host=True)
    predictions = seen.returned
    check_ran(seen, "predict()")
    check_mode(seen, "predict()", training=False)
    check_gradients(seen, "predict()", enabled=False)
    check_inputs_placed(seen, "predict()")
    if type(predictions) is not torch.Tensor or tuple(predictions.shape) != (len(x),):
        fail("predict() must return one tensor with one predicted class per image.")
    check_on_host(seen, predictions, "predict()", "its predictions")
    if predictions.dtype != torch.int64:
        fail("predict() must return the classes as an int64 tensor (argmax of the logits).")
    if not torch.equal(predictions.cpu(), expected):
        fail("predict() does not return the class with the largest logit for every image.")


def grader_test_images() -> torch.Tensor:
    """The test images of the grader's own copy of the test set, as the model takes them."""
    (_, _), (x_test, _) = load_fashion_mnist()
    return torch.from_numpy(x_test).float() / 255.0


def test_accuracy(nb, lab):
    model = trained_model(nb.model, "model", FASHION_ANN)
    (_, _), (_, y_test) = load_fashion_mnist()
    x_held, y_held = load_held_back("fashion-mnist")
    measured = torch_accuracy(model, FASHION_ANN, (grader_test_images(), y_test),
                              (torch.from_numpy(x_held).float() / 255.0, y_held))
    check_accuracy(measured, nb.test_accuracy, name="test_accuracy",
                   threshold=lab.accuracy_threshold, tolerance=lab.accuracy_tolerance)
