"""What a Keras model computes, checked from its own Dense weights like a PyTorch model.

The same :class:`~gpukit.grading.architecture.Network` and verdict as architecture.py: the
model's Dense layers are found in the order it applies them (nested models included), their
kernels and biases become the grader's float64 weights, and the model's own output on the
grader's random inputs must be what the specified network computes with them (else the usual
mistake it computes is named). Any spelling passes: ``Input`` or ``input_shape``, activations as
arguments or layers, ``Flatten`` or ``Reshape``, Sequential or the functional API.

Outputs are computed on the CPU: on a GPU of the Ampere line or later, TensorFlow multiplies
float32 matrices in TensorFloat-32 by default, whose rounding (about 1e-3 relative) is far
outside the tolerance that tells the specified network from the usual mistakes, so the verdict
would depend on the grader's GPU.
"""

from __future__ import annotations

import numpy as np
import torch

from gpukit.grading.architecture import (
    Network,
    Problem,
    Weights,
    computed_layers,
    verdict,
)
from gpukit.grading.basics import IntegrityFinding, call

PROBE_SEED = 0


def keras_output(model, x: np.ndarray) -> np.ndarray:
    """The model's output on ``x`` (float64), computed on the CPU."""
    import tensorflow as tf

    def on_the_cpu() -> np.ndarray:
        with tf.device("/CPU:0"):
            return np.asarray(model(x, training=False), dtype=np.float64)

    return call(on_the_cpu, what=f"the Keras model on a {x.shape} batch")


def dense_layers(model) -> list:
    """The model's Dense layers in the order it applies them (nested models included)."""
    import keras

    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += dense_layers(layer)
        elif isinstance(layer, keras.layers.Dense):
            found.append(layer)
    return found


def dense_weights(model) -> list[Weights]:
    """The Dense layers' kernels (stored (in, out), as in ``x @ W``) and biases, as the grader
    computes with them."""
    weights = []
    for layer in dense_layers(model):
        kernel, bias = (torch.from_numpy(np.asarray(w)) for w in layer.get_weights())
        weights.append(Weights.of_parameters(kernel, bias, transposed=True))
    return weights


def check_keras_model(model, network: Network) -> Problem | None:
    """None when the model computes ``network`` (of Dense layers) from its own weights; else
    the problem, in one sentence for the student."""
    x = _grader_inputs(network)
    out = keras_output(model, x)  # also builds a model whose input shape was left open
    dense = dense_layers(model)
    shapes = [tuple(layer.kernel.shape) for layer in dense if layer.built]
    wanted = [(layer.in_features, layer.out_features) for layer in network.weighted]
    if shapes != wanted or not all(layer.use_bias for layer in dense):
        units = " and then ".join(str(layer.out_features) for layer in network.weighted)
        return Problem(f"The Dense layers must have {units} units, on the "
                       f"{wanted[0][0]} pixels of a flattened image (found kernels of shapes "
                       f"{shapes}).")
    return verdict(torch.from_numpy(out), network, dense_weights(model), torch.from_numpy(x))


def keras_outputs(model, network: Network, images: np.ndarray) -> np.ndarray:
    """The model's own output on ``images``. Where its Dense weights define what it computes
    on the grader's random inputs (the specified network or a usual mistake), its output on
    ``images`` must be that too; else it computes something else on the data it is graded with
    (IntegrityFinding)."""
    out = keras_output(model, images)
    weights = dense_weights(model)
    sized = network.sized_like(weights) if weights else None
    if sized is None:
        return out  # not Dense layers of the specified kinds: only its output says
    probe = _grader_inputs(network)
    layers = computed_layers(torch.from_numpy(keras_output(model, probe)), sized, weights,
                             torch.from_numpy(probe))
    if layers is None:
        return out
    expected = sized.compute(weights, torch.from_numpy(images), layers)
    if out.shape != tuple(expected.shape) or not np.allclose(out, expected.numpy(), rtol=1e-4,
                                                            atol=1e-5):
        raise IntegrityFinding(
            f"{network.name}'s output on the test images differs from what the network its "
            "own weights define computes (it agrees on the grader's random inputs): this "
            "submission is marked for review.")
    return out


def _grader_inputs(network: Network) -> np.ndarray:
    """The grader's own random images in [0, 1), shaped as the network's inputs."""
    shape = (16, *network.input_shape)
    return np.random.default_rng(PROBE_SEED).random(shape, dtype=np.float32)
