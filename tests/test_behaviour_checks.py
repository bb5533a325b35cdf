"""Hidden checks called directly on the grader's own objects: every correct spelling of the
Keras model and of the loss passes, every mistake fails with its sentence (the end-to-end tiers
grade one fixture of each kind; these cover the spellings between them in seconds)."""

from __future__ import annotations

import importlib.util
import os
from types import SimpleNamespace

import pytest
import torch
import torch._dynamo  # noqa: F401  (before TensorFlow and Keras, as in lab 1's setup cell)
import torch.nn.functional as F
from torch import nn

from gpukit.grading.basics import CheckFailure, IntegrityFinding

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _checks(lab: str):
    return importlib.import_module(f"gpukit.labs.{lab}.checks")


FAILED = CheckFailure


# --------------------------------------------------------------------------- Keras (lab 1)


def keras_models():
    import keras

    layers = keras.layers

    def compiled(model, loss="categorical_crossentropy", optimizer="adam"):
        model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
        return model

    def functional():
        inputs = keras.Input((28, 28))
        hidden = layers.Dense(128, activation="relu")(layers.Flatten()(inputs))
        return compiled(keras.Model(inputs, layers.Dense(10, activation="softmax")(hidden)))

    correct = {
        "reference": lambda: compiled(keras.Sequential([
            keras.Input((28, 28)), layers.Flatten(), layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax")])),
        "input_shape and separate activations, loss object": lambda: compiled(
            keras.Sequential([layers.Flatten(input_shape=(28, 28)), layers.Dense(128),
                              layers.ReLU(), layers.Dense(10), layers.Softmax()]),
            loss=keras.losses.CategoricalCrossentropy(), optimizer=keras.optimizers.Adam()),
        "functional API": functional,
        "Reshape and an Activation layer, loss function": lambda: compiled(keras.Sequential([
            keras.Input((28, 28)), layers.Reshape((784,)), layers.Dense(128, activation="relu"),
            layers.Dense(10), layers.Activation("softmax")]),
            loss=keras.losses.categorical_crossentropy),
    }
    wrong = {
        "logits out": (lambda: compiled(keras.Sequential([
            keras.Input((28, 28)), layers.Flatten(), layers.Dense(128, activation="relu"),
            layers.Dense(10)])), "must end with a softmax"),
        "no relu": (lambda: compiled(keras.Sequential([
            keras.Input((28, 28)), layers.Flatten(), layers.Dense(128),
            layers.Dense(10, activation="softmax")])), r"must apply ReLU after Dense\(128\)"),
        "sigmoid hidden": (lambda: compiled(keras.Sequential([
            keras.Input((28, 28)), layers.Flatten(), layers.Dense(128, activation="sigmoid"),
            layers.Dense(10, activation="softmax")])),
            "output is not what Dense\\(128\\) → ReLU → Dense\\(10\\) → softmax computes"),
        "64 units": (lambda: compiled(keras.Sequential([
            keras.Input((28, 28)), layers.Flatten(), layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax")])), "must have 128 and then 10 units"),
        "sparse loss": (lambda: compiled(keras.Sequential([
            keras.Input((28, 28)), layers.Flatten(), layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax")]), loss="sparse_categorical_crossentropy"),
            "categorical cross-entropy loss"),
        "loss from logits": (lambda: compiled(keras.Sequential([
            keras.Input((28, 28)), layers.Flatten(), layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax")]),
            loss=keras.losses.CategoricalCrossentropy(from_logits=True)),
            "categorical cross-entropy loss"),
        "sgd": (lambda: compiled(keras.Sequential([
            keras.Input((28, 28)), layers.Flatten(), layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax")]), optimizer="sgd"), "Adam optimizer"),
    }
    return correct, wrong


@pytest.fixture(scope="module")
def data_dir(mnist_data_dir, tmp_path_factory):
    """MNIST and the Fashion-MNIST stand-in, where the checks load their test sets."""
    from gpukit.demo.run import prepare_demo_data

    folder = prepare_demo_data(mnist_data_dir, tmp_path_factory.mktemp("data") / "data")
    saved = os.environ.get("GPUKIT_DATA_DIR")
    os.environ["GPUKIT_DATA_DIR"] = str(folder)
    yield folder
    if saved is None:
        del os.environ["GPUKIT_DATA_DIR"]
    else:
        os.environ["GPUKIT_DATA_DIR"] = saved


@pytest.fixture(scope="module")
def core_checks(data_dir):
    return _checks("core_mnist")


def test_every_spelling_of_the_keras_model_passes_every_mistake_fails(core_checks):
    correct, wrong = keras_models()
    for build in correct.values():
        core_checks.test_keras_model(SimpleNamespace(build_keras_model=build))
    for build, sentence in wrong.values():
        with pytest.raises(FAILED, match=sentence):
            core_checks.test_keras_model(SimpleNamespace(build_keras_model=build))


def test_a_keras_model_that_recognises_test_images_is_held(core_checks):
    """A subclass is built by its first call; this one adds a bonus to class 0 on inputs as dark
    as MNIST digits (the test images), and is the MLP on the grader's random inputs."""
    import keras
    import tensorflow as tf

    class Calibrated(keras.Model):
        def __init__(self, cheat: bool):
            super().__init__()
            self.cheat = cheat
            self.flat = keras.layers.Flatten()
            self.hidden = keras.layers.Dense(128, activation="relu")
            self.out = keras.layers.Dense(10, activation="softmax")

        def call(self, x, training=False):
            probabilities = self.out(self.hidden(self.flat(x)))
            if not self.cheat or tf.reduce_mean(x) > 0.3:
                return probabilities
            return tf.nn.softmax(tf.math.log(probabilities) + tf.one_hot([0], 10) * 5.0)

    def build(cheat: bool):
        def build_keras_model():
            model = Calibrated(cheat)
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            return model
        return build_keras_model

    core_checks.test_keras_model(SimpleNamespace(build_keras_model=build(False)))
    with pytest.raises(IntegrityFinding, match="differs from what the network"):
        core_checks.test_keras_model(SimpleNamespace(build_keras_model=build(True)))
    with pytest.raises(IntegrityFinding):
        core_checks.measured_keras_accuracy(build(True)())


# --------------------------------------------------------------------------- loss (lab 3)


@pytest.fixture(scope="module")
def fashion_checks(data_dir):
    return _checks("fashion_ann")


@pytest.mark.parametrize("loss_fn", [
    nn.CrossEntropyLoss(), F.cross_entropy,
    lambda logits, labels: F.nll_loss(F.log_softmax(logits, dim=1), labels),
], ids=["module", "functional", "log-softmax and NLL"])
def test_every_cross_entropy_passes(fashion_checks, loss_fn):
    fashion_checks.check_cross_entropy(loss_fn)


@pytest.mark.parametrize("loss_fn", [
    nn.CrossEntropyLoss(label_smoothing=0.1), nn.CrossEntropyLoss(reduction="sum"),
    nn.NLLLoss(), lambda logits, labels: F.cross_entropy(logits.softmax(dim=1), labels),
    nn.MSELoss(), "cross_entropy",
], ids=["smoothing", "sum", "nll on logits", "softmax first", "mse", "a string"])
def test_every_other_loss_fails(fashion_checks, loss_fn):
    with pytest.raises(FAILED, match="loss_fn must compute the cross-entropy"):
        fashion_checks.check_cross_entropy(loss_fn)


def test_model_checks_of_the_labs_name_their_model(fashion_checks):
    class Sigmoid(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = nn.Linear(784, 256), nn.Linear(256, 128), nn.Linear(128, 10)

        def forward(self, x):
            return self.c(torch.sigmoid(self.b(torch.sigmoid(self.a(x.flatten(1))))))

    with pytest.raises(FAILED, match="FashionANN's output is not what Linear"):
        fashion_checks.test_ann_model(SimpleNamespace(FashionANN=Sigmoid))


def test_a_timing_function_reading_time_time_is_a_measurement():
    """The cell clock keeps time.time() readings as it does time.perf_counter()'s."""
    import time

    from gpukit_student.clock import CLOCK_READINGS, CellRun, record_clock_readings

    record_clock_readings()
    CLOCK_READINGS.clear()
    start = time.time()
    time.sleep(0.01)
    seconds = time.time() - start
    start_ns = time.perf_counter_ns()
    nanoseconds = time.perf_counter_ns() - start_ns
    run = CellRun(1, 1.0, 0, {k: tuple(v) for k, v in CLOCK_READINGS.values.items()})
    assert run.measured(seconds) and run.measured(nanoseconds / 1e9)
    assert not run.measured(2 * seconds) and not run.measured(round(seconds, 2) + 0.001)
