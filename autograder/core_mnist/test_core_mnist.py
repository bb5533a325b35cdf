# Written by `gpukit release` from the kit's gpukit/labs/core_mnist/checks.py
# and grading_config.py: change those, then run `gpukit release`; never edit this file.
# The grading kernel runs each test_<grade id> below on the student's live notebook
# (gpukit/grading/runner.py); `pytest autograder/core_mnist --notebook PATH` runs them all.

"""Hidden checks of the core lab (MNIST in Keras and PyTorch).

Each ``test_<name>`` is one graded cell of the notebook (grade id ``<name>``), run inside the
grading kernel by ``gpukit.grading.check``. The fixtures: ``nb`` (the student's namespace),
``lab`` (the lab's settings as released: settings.json beside this file in autograder/) and
``grader`` (the machine and policy).

Every failure message is one sentence for the student: it says what is wrong, never the check's
code or the expected value. The grader never trusts a number the notebook reports: it measures.
"""

from __future__ import annotations

import math
import os
import platform
import sys

import numpy as np
import torch

from gpukit.grading.accuracy import check_accuracy, fitted_to_test, torch_accuracy, trained_model
from gpukit.grading.architecture import RELU, SOFTMAX, Dense, Linear, Network, check_model
from gpukit.grading.basics import call, check_device_selection, fail, fail_on
from gpukit.grading.gpu import check_trained_on_gpu
from gpukit.grading.keras_models import check_keras_model, keras_output, keras_outputs
from gpukit.grading.observed import check_placement, check_ran, observe
from gpukit.grading.timing import check_against_clock, check_trained_in, reported_seconds
from gpukit.grading.values import check_keys, check_report, plain_number, same_plain_value
from gpukit_student.data import load_held_back, load_mnist


def grader_test_set() -> tuple[np.ndarray, np.ndarray]:
    """The test set, loaded afresh by the grader (never the notebook's copy)."""
    (_, _), (x_test, y_test) = load_mnist()
    return x_test, y_test


def grader_held_back() -> tuple[np.ndarray, np.ndarray]:
    """The training images this grading kernel kept from the notebook (none outside one)."""
    return load_held_back("mnist")


def scaled(x: np.ndarray) -> np.ndarray:
    """Images as every model of this lab takes them: float32 in [0, 1], (N, 28, 28)."""
    return x.astype("float32") / 255.0


PROBE_IMAGES = 512  # test images the architecture checks also compare outputs on


# ---------------------------------------------------------------------------------------------
# Part 1 and 2: reports checked against the grading kernel's truth.
# ---------------------------------------------------------------------------------------------


def test_environment(nb):
    import tensorflow as tf

    report = call(nb.environment_report, what="environment_report()")
    truth = {
        "python_version": platform.python_version(),
        "in_virtual_env": sys.prefix != sys.base_prefix
        or os.path.isdir(os.path.join(sys.prefix, "conda-meta")),
        "tensorflow_version": tf.__version__,
        "torch_version": torch.__version__,
    }
    check_report("environment_report()", report, truth,
                       "the kernel it runs in: compute the values, do not type them")


def test_gpu_report(nb):
    import tensorflow as tf

    report = call(nb.gpu_report, what="gpu_report()")
    cuda = torch.cuda.is_available()
    truth = {
        "tf_gpu_count": len(tf.config.list_physical_devices("GPU")),
        "torch_cuda_available": cuda,
        "torch_gpu_count": torch.cuda.device_count(),
        "torch_gpu_name": torch.cuda.get_device_name(0) if cuda else None,
    }
    check_report("gpu_report()", report, truth, "what the frameworks see on the grading "
                       "machine: ask TensorFlow and PyTorch, do not type the values")


def test_device(nb, grader):
    check_device_selection(nb, grader.gpu_available)


# ---------------------------------------------------------------------------------------------
# Part 3: Keras.
# ---------------------------------------------------------------------------------------------


MNIST_MLP = Network("MnistMLP", (Linear(784, 128), RELU, Linear(128, 10)), (28, 28))


KERAS_MLP = Network("The Keras model", (Dense(784, 128), RELU, Dense(128, 10), SOFTMAX),
                    (28, 28))


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_keras_model(nb):
    """What the model computes from its own weights (gpukit/grading/keras_models.py), and the
    loss and optimizer it is compiled with."""
    import keras

    model = call(nb.build_keras_model, what="build_keras_model()")
    if not isinstance(model, keras.Model):
        fail("build_keras_model() must return a Keras model.")
    fail_on(check_keras_model(model, KERAS_MLP))
    x_test, _ = grader_test_set()
    keras_outputs(model, KERAS_MLP, scaled(x_test[:PROBE_IMAGES]))  # the same on real images
    check_keras_loss(model)
    if not isinstance(model.optimizer, keras.optimizers.Adam):
        fail("The model must be compiled with the Adam optimizer.")


def check_keras_loss(model) -> None:
    """The compiled loss is the categorical cross-entropy of one-hot labels and probabilities,
    whether named by a string or given as a loss object."""
    import keras

    if model.loss is None:
        fail("The model must be compiled (model.compile(...)) with a loss.")
    y_true = np.eye(10, dtype=np.float32)[[3, 1, 4, 1]]
    y_pred = softmax(np.random.default_rng(1).normal(size=(4, 10))).astype(np.float32)
    expected = float(np.mean(-np.log(y_pred[np.arange(4), [3, 1, 4, 1]])))
    try:
        loss = keras.losses.get(model.loss) if isinstance(model.loss, str) else model.loss
        value = float(np.mean(np.asarray(loss(y_true, y_pred))))
    except Exception:  # a loss for other targets (sparse labels) raises on one-hot ones
        value = math.nan
    if not math.isclose(value, expected, rel_tol=1e-4):
        fail("The model must be compiled with the categorical cross-entropy loss (on the "
             "softmax's probabilities and one-hot labels).")


def measured_keras_accuracy(model) -> float:
    """The accuracy of the model's own output on the grader's test set, once it is the
    model's and not the test set's (gpukit/grading/accuracy.py)."""
    x_test, y_test = grader_test_set()
    probabilities = keras_outputs(model, KERAS_MLP, scaled(x_test))
    if probabilities.shape != (len(x_test), 10):
        fail(f"The Keras model must map a batch of N images to (N, 10) probabilities (it "
             f"returns {probabilities.shape}).")
    accuracy = float((probabilities.argmax(axis=1) == y_test).mean())
    x_held, y_held = grader_held_back()
    if len(x_held):
        held = float((keras_output(model, scaled(x_held)).argmax(axis=1) == y_held).mean())
        fail_on(fitted_to_test(accuracy, len(x_test), held, len(x_held), "Keras model"))
    return accuracy


def test_keras_accuracy(nb, lab):
    check_accuracy(measured_keras_accuracy(nb.keras_model), nb.keras_test_accuracy,
                   name="keras_test_accuracy", framework="Keras",
                   threshold=lab.keras_accuracy_threshold, tolerance=lab.accuracy_tolerance)


def test_keras_on_gpu(nb, grader):
    check_trained_on_gpu(
        grader, "Training the Keras model on the GPU",
        lambda: all("GPU" in str(v.value.device) for v in nb.keras_model.trainable_variables),
        weights="The Keras model's weights", framework="TensorFlow")


# ---------------------------------------------------------------------------------------------
# Part 4: PyTorch.
# ---------------------------------------------------------------------------------------------


def test_torch_model(nb):
    """What the model computes from its own weights (gpukit/grading/architecture.py)."""
    model = call(nb.MnistMLP, what="MnistMLP()")
    if not isinstance(model, torch.nn.Module):
        fail("MnistMLP must be an nn.Module.")
    x_test, _ = grader_test_set()
    probe = torch.from_numpy(scaled(x_test[:PROBE_IMAGES]))
    fail_on(check_model(model, MNIST_MLP, probe=probe))


def test_torch_placement(nb, grader):
    """Model and every batch on ``device`` during training; see gpukit/grading/placement.py."""
    model = call(nb.MnistMLP, what="MnistMLP()")
    x = torch.rand(256, 28, 28)
    y = torch.randint(0, 10, (256,))
    what = "train_torch(model, x, y, 1, 64, device)"
    seen = observe(nb, grader, model, lambda d: call(nb.train_torch, model, x, y, 1, 64, d,
                                                     what=what))
    check_ran(seen, "train_torch()")
    check_placement(seen, "train_torch()")


def test_torch_accuracy(nb, lab):
    model = trained_model(nb.torch_model, "torch_model", MNIST_MLP)
    x_test, y_test = grader_test_set()
    x_held, y_held = grader_held_back()
    measured = torch_accuracy(model, MNIST_MLP, (torch.from_numpy(scaled(x_test)), y_test),
                              (torch.from_numpy(scaled(x_held)), y_held))
    check_accuracy(measured, nb.torch_test_accuracy, name="torch_test_accuracy",
                   framework="PyTorch", threshold=lab.torch_accuracy_threshold,
                   tolerance=lab.accuracy_tolerance)


# ---------------------------------------------------------------------------------------------
# Part 5: timing, cross-checked against the grader's own clock.
# ---------------------------------------------------------------------------------------------


def test_timing(nb, grader, lab):
    timing = check_keys(nb.timing, {"keras_seconds", "torch_seconds", "faster", "speedup"},
                        "timing")
    keras_s = check_reported_time(nb, grader, lab, "keras_train_time", timing["keras_seconds"])
    torch_s = check_reported_time(nb, grader, lab, "torch_train_time", timing["torch_seconds"])
    if not same_plain_value(timing["faster"], "keras" if keras_s < torch_s else "pytorch"):
        fail("timing['faster'] names the slower framework.")
    speedup = plain_number(timing["speedup"])
    if speedup is None or not math.isclose(speedup, max(keras_s, torch_s) / min(keras_s, torch_s),
                                           rel_tol=1e-6):
        fail("timing['speedup'] is not the slower time divided by the faster one.")


def check_reported_time(nb, grader, lab, name: str, in_timing) -> float:
    """The reported time, once it agrees with the grader's clock (else the check fails)."""
    reported = reported_seconds(nb, name)
    if plain_number(in_timing) != reported:
        fail(f"The timing dictionary does not hold your measured `{name}`.")
    run = check_against_clock(grader, name, reported, min_fraction=lab.timing_min_fraction,
                              hint="read the clock (time.perf_counter()) before and after "
                              "training, in the cell that trains the model.")
    if name == "torch_train_time" and isinstance(nb.torch_model, torch.nn.Module):
        check_trained_in(grader, name, run, nb.torch_model, "torch_model")
    if name == "torch_train_time" and grader.gpu_available and nb.device.type == "cuda" \
            and run.cuda_synchronize_calls == 0:
        fail("The PyTorch training time was taken without torch.cuda.synchronize(): GPU work "
             "is asynchronous, so the clock stopped before the GPU finished.")
    return reported
