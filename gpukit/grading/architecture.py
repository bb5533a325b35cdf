"""What a PyTorch model computes, checked from its own weights, however it is written.

A lab specifies a network as a sequence of layers (:class:`Network`). Students write it in many
correct ways: modules or functional calls (``nn.ReLU()`` or ``torch.relu``, ``nn.MaxPool2d`` or
``F.max_pool2d``), ``nn.Sequential``, ``nn.ModuleList`` or attributes, ``view`` or
``nn.Flatten``, weights as ``nn.Parameter`` matrices (d2l's MLP from scratch), float64 weights,
a fixed normalisation of the input inside ``forward``, ``torch.compile`` or ``DataParallel``
around it. So the check does not read the spelling. It finds the weights (the ``nn.Linear`` and
``nn.Conv2d`` modules in the order the model *calls* them, or else its parameters as weight-bias
pairs), the input scaling the first layer receives (:func:`_input_scaling`), computes in float64
what the specified network computes with them on the grader's own random inputs, and compares
that with the model's output. A model that computes something else fails with a sentence naming
the difference, found by trying the usual mistakes (a softmax at the end, a missing ReLU,
another pooling).

The accuracy checks (gpukit/grading/accuracy.py) take the model's own output
(:func:`model_outputs`) and compare it with what its weights define (:func:`recomputed_outputs`):
where the two agree on the grader's random inputs but not on real images, the model computes
its network except on the data it is graded with: a :class:`Problem` marked ``integrity``.

Runs on the CPU, in evaluation mode, without gradients, on a copy: the student's model is left as
it was.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Weights:
    """One weighted layer of the student's model, as the grader computes with it: the weight as
    (out, in) or (out, in, k, k) and the bias, in float64 whatever the model's dtype, with where
    they came from (an ``nn.Linear``/``nn.Conv2d`` module, or the model's own parameters)."""

    weight: torch.Tensor
    bias: torch.Tensor
    module: nn.Module | None = None          # the layer module, when there is one
    parameter: torch.Tensor | None = None    # the weight as the model holds it ...
    transposed: bool = False                 # ... stored (in, out), as in ``x @ W``
    bias_parameter: torch.Tensor | None = None

    @classmethod
    def of_module(cls, module: nn.Module) -> Weights:
        weight = module.weight.detach().double()
        if module.bias is None:  # computed without one; never the specified layer
            return cls(weight, torch.zeros(len(weight), dtype=torch.float64), module, module.weight)
        return cls(weight, module.bias.detach().double(), module, module.weight, False,
                   module.bias)

    @classmethod
    def of_parameters(cls, weight: torch.Tensor, bias: torch.Tensor, transposed: bool) -> Weights:
        matrix = weight.detach().double()
        return cls(matrix.T if transposed else matrix, bias.detach().double(), None, weight,
                   transposed, bias)

    def __str__(self) -> str:
        if self.module is not None:
            return _describe(self.module)
        return f"a {tuple(self.parameter.shape)} weight parameter"


@dataclass(frozen=True)
class Linear:
    in_features: int
    out_features: int

    def __str__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features})"

    def shapes(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return (self.out_features, self.in_features), (self.out_features,)

    def matches(self, weights: Weights) -> bool:
        return (weights.module is None or isinstance(weights.module, nn.Linear)) and \
            weights.bias_parameter is not None and \
            (tuple(weights.weight.shape), tuple(weights.bias.shape)) == self.shapes()

    def resized(self, weights: Weights) -> Linear | None:
        if weights.weight.dim() != 2 or (weights.module is not None
                                         and not isinstance(weights.module, nn.Linear)):
            return None
        return type(self)(weights.weight.shape[1], weights.weight.shape[0])

    def apply(self, weights: Weights, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x.flatten(1), weights.weight, weights.bias)


@dataclass(frozen=True)
class Dense(Linear):
    """A Linear layer as Keras names it (lab 1's Keras model): Dense(128)."""

    def __str__(self) -> str:
        return f"Dense({self.out_features})"


@dataclass(frozen=True)
class Conv2d:
    in_channels: int
    out_channels: int
    kernel_size: int
    padding: int

    def __str__(self) -> str:
        return (f"Conv2d({self.in_channels}, {self.out_channels}, {self.kernel_size}, "
                f"padding={self.padding})")

    def shapes(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        k = self.kernel_size
        return (self.out_channels, self.in_channels, k, k), (self.out_channels,)

    def matches(self, weights: Weights) -> bool:
        if weights.bias_parameter is None or \
                (tuple(weights.weight.shape), tuple(weights.bias.shape)) != self.shapes():
            return False
        module = weights.module
        if module is None:  # the model's own parameters: what it computes with them tells
            return True
        k, p = self.kernel_size, self.padding
        # padding="same" is padding (k - 1) / 2 for an odd kernel at stride 1.
        padding = (p, p) if module.padding == "same" and 2 * p == k - 1 else module.padding
        return isinstance(module, nn.Conv2d) and tuple(module.stride) == (1, 1) \
            and tuple(module.dilation) == (1, 1) and module.groups == 1 and padding == (p, p)

    def resized(self, weights: Weights) -> Conv2d | None:
        shape = tuple(weights.weight.shape)
        if len(shape) != 4 or shape[2:] != (self.kernel_size,) * 2:
            return None
        resized = Conv2d(shape[1], shape[0], self.kernel_size, self.padding)
        return resized if resized.matches(weights) else None

    def apply(self, weights: Weights, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, weights.weight, weights.bias, padding=self.padding)


@dataclass(frozen=True)
class Activation:
    """A layer without weights: a name for messages and the function it computes."""

    name: str
    function: Callable[[torch.Tensor], torch.Tensor]

    def __str__(self) -> str:
        return self.name


RELU = Activation("ReLU", F.relu)
MAX_POOL = Activation("MaxPool2d(2)", lambda x: F.max_pool2d(x, 2))
SOFTMAX = Activation("softmax", lambda x: F.softmax(x, dim=1))
LOG_SOFTMAX = Activation("log-softmax", lambda x: F.log_softmax(x, dim=1))
AVG_POOL = Activation("AvgPool2d(2)", lambda x: F.avg_pool2d(x, 2))

Layer = Linear | Conv2d | Activation


@dataclass(frozen=True)
class Network:
    """The network a lab's instructions specify, e.g. Linear(784, 128) → ReLU → Linear(128, 10).

    ``name`` is how messages call the student's model (``FashionANN``); ``input_shape`` is one
    input of the grader's batches (without the batch dimension).
    """

    name: str
    layers: tuple[Layer, ...]
    input_shape: tuple[int, ...]

    def __str__(self) -> str:
        return " → ".join(map(str, self.layers))

    @property
    def weighted(self) -> list[Linear | Conv2d]:
        return [layer for layer in self.layers if isinstance(layer, (Linear, Conv2d))]

    def compute(self, weights: list[Weights], x: torch.Tensor,
                layers: tuple[Layer, ...] | None = None,
                scaling: InputScaling | None = None) -> torch.Tensor:
        """What ``layers`` (default: the specified ones) compute, in float64, with these
        weights on ``x`` after the model's own fixed input ``scaling`` (if any)."""
        x = (scaling or IDENTITY).apply(x.double())
        weights_left = iter(weights)
        for layer in layers or self.layers:
            x = layer.function(x) if isinstance(layer, Activation) else \
                layer.apply(next(weights_left), x)
        return x

    def sized_like(self, weights: list[Weights]) -> Network | None:
        """This network with the layer sizes of the model's own weights (in call order), when
        they are of the specified kinds; else None. The grader can then still recompute what a
        model of other sizes computes (to tell whether its output on the test images is what
        its weights define); the sizes cost the architecture check."""
        if len(weights) != len(self.weighted):
            return None
        sized, weights_left = [], iter(weights)
        for layer in self.layers:
            resized = layer if isinstance(layer, Activation) else layer.resized(next(weights_left))
            if resized is None:
                return None
            sized.append(resized)
        return Network(self.name, tuple(sized), self.input_shape)

    def mistakes(self) -> list[tuple[tuple[Layer, ...], str]]:
        """Networks a student writes by mistake, each with the sentence that names it."""
        if self.layers[-1] is SOFTMAX:  # a network that outputs probabilities (Keras)
            found = [(self.layers[:-1], f"{self.name} must end with a softmax: it returns "
                      "logits.")]
        else:
            found = [((*self.layers, SOFTMAX), f"{self.name} must return logits, not "
                      "probabilities: nn.CrossEntropyLoss applies the softmax itself."),
                     ((*self.layers, LOG_SOFTMAX), f"{self.name} must return logits, not "
                      "log-probabilities: nn.CrossEntropyLoss applies the log-softmax itself.")]
        for i, layer in enumerate(self.layers):
            if layer is RELU:
                found.append((self.layers[:i] + self.layers[i + 1:],
                              f"{self.name} must apply ReLU after {self.layers[i - 1]}."))
            elif layer is MAX_POOL:
                after = f"after {self.layers[i - 2]}" if i >= 2 else "there"
                found.append((self.layers[:i] + self.layers[i + 1:],
                              f"{self.name} must max-pool (2×2) {after}."))
                found.append((self.layers[:i] + (AVG_POOL,) + self.layers[i + 1:],
                              f"{self.name} must max-pool (2×2) {after}, not average-pool."))
        if self.layers.count(MAX_POOL) > 1:
            found.append((tuple(AVG_POOL if layer is MAX_POOL else layer
                                for layer in self.layers),
                          f"{self.name} must max-pool (2×2) after each convolution block, not "
                          "average-pool."))
        return found


@dataclass(frozen=True)
class Problem:
    """Why a model is not the specified network, in one sentence for the student."""

    message: str
    integrity: bool = False  # right on the grader's inputs, wrong on the images it is graded on


@dataclass(frozen=True)
class InputScaling:
    """A fixed elementwise scaling the model applies to its input before its first layer, such
    as ``(x - 0.1307) / 0.3081`` (the constants of pytorch/examples): ``scale * x + shift``.
    The release leaves it free; the grader finds it from what the first layer receives."""

    scale: float = 1.0
    shift: float = 0.0

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        return x if self == IDENTITY else x * self.scale + self.shift


IDENTITY = InputScaling()


def computing_module(model: nn.Module) -> nn.Module:
    """The module that computes: a ``DataParallel`` wrapper's ``module``, ``torch.compile``'s
    original module (what the compiled code computes), looked through at any depth."""
    while True:
        if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            model = model.module
        elif isinstance(getattr(model, "_orig_mod", None), nn.Module):  # torch.compile(model)
            model = model._orig_mod
        else:
            return model


def check_model(model: nn.Module, network: Network, *, probe: torch.Tensor | None = None,
                seed: int = 0) -> Problem | None:
    """None when ``model`` computes ``network`` from its own weights, on the grader's random
    inputs and on the ``probe`` images (real data, e.g. test images); else the problem."""
    x = _grader_inputs(network, seed)
    model = _cpu_copy(model)
    weights, problem = _specified_weights(model, network, x)
    if problem:
        return problem
    scaling = _input_scaling(model, network, weights)
    with torch.no_grad():
        out = _output(model, network, x)
        if isinstance(out, Problem):
            return out
        problem = verdict(out, network, weights, x, scaling)
        if problem:
            return problem
        if probe is not None:
            out = _output(model, network, probe)
            if isinstance(out, Problem) or not _computes(out, network, weights, probe,
                                                         scaling=scaling):
                return Problem(_differs_on_data(network), integrity=True)
    return None


def verdict(out: torch.Tensor, network: Network, weights: list[Weights], x: torch.Tensor,
            scaling: InputScaling | None = None) -> Problem | None:
    """None when ``out``, a model's output on ``x``, is what ``network`` computes with these
    weights; else the sentence of the usual mistake it computes, or that it computes something
    else. (check_model's verdict, for a model of any framework whose weights the caller found.)"""
    if _computes(out, network, weights, x, scaling=scaling):
        return None
    for layers, sentence in network.mistakes():
        if _computes(out, network, weights, x, layers, scaling):
            return Problem(sentence)
    if network.layers[-1] is not SOFTMAX and looks_like_probabilities(out):
        return Problem(network.mistakes()[0][1])  # a softmax after something else
    return Problem(f"{network.name}'s output is not what {network} computes with its own "
                   "weights: compute exactly these layers, in this order, and nothing else (a "
                   "fixed scaling of the input before them is free).")


def computed_layers(out: torch.Tensor, network: Network, weights: list[Weights],
                    x: torch.Tensor) -> tuple[Layer, ...] | None:
    """Which of the specified network and its usual mistakes ``out`` computes on ``x``."""
    candidates = [network.layers, *(layers for layers, _ in network.mistakes())]
    return next((layers for layers in candidates
                 if _computes(out, network, weights, x, layers)), None)


def model_outputs(model: nn.Module, network: Network, images: torch.Tensor, *,
                  batch_size: int = 2048) -> torch.Tensor | Problem:
    """The model's own output on ``images`` (its forward pass, whatever its internals: dtype,
    containers, raw parameters, compiled or wrapped), on a CPU copy in evaluation mode."""
    model = _cpu_copy(model)
    outputs = []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            out = _output(model, network, images[i:i + batch_size])
            if isinstance(out, Problem):
                return out
            outputs.append(out.double())
    return torch.cat(outputs)


def recomputed_outputs(model: nn.Module, network: Network, images: torch.Tensor, *,
                       batch_size: int = 2048) -> torch.Tensor | None:
    """What the network the model's own weights define computes on ``images``, computed by the
    grader: the specified network or one of its usual mistakes (a softmax at the end, a missing
    ReLU), with the model's layer sizes and input scaling; None when the model is none of
    these (then only its own output says what it computes)."""
    model = _cpu_copy(model)
    x = _grader_inputs(network, 0)
    weights, error = _called_weights(model, x)
    sized = network.sized_like(weights) if not error else None
    if sized is None:
        return None
    scaling = _input_scaling(model, sized, weights)
    layers = _computed_layers(model, sized, weights, x, scaling)
    if layers is None:
        return None
    with torch.no_grad():
        return torch.cat([sized.compute(weights, images[i:i + batch_size], layers, scaling)
                          for i in range(0, len(images), batch_size)])


def differs_on_data(network: Network, outputs: torch.Tensor,
                    recomputed: torch.Tensor | None) -> Problem | None:
    """An integrity problem when the model's own outputs on the grader's images are not what
    its weights define (while they agree on the grader's random inputs)."""
    if recomputed is None or _close(outputs, recomputed):
        return None
    return Problem(_differs_on_data(network), integrity=True)


def _computed_layers(model: nn.Module, network: Network, weights: list[Weights],
                     x: torch.Tensor, scaling: InputScaling) -> tuple[Layer, ...] | None:
    """Which network the model computes on the grader's inputs: the specified one, or one of
    the usual mistakes; None when it is none of them."""
    with torch.no_grad():
        out = _output(model, network, x)
        if isinstance(out, Problem):
            return None
        for layers in (network.layers, *(layers for layers, _ in network.mistakes())):
            if _computes(out, network, weights, x, layers, scaling):
                return layers
    return None


def _differs_on_data(network: Network) -> str:
    return (f"{network.name}'s output on the test images differs from what the network its own "
            "weights define computes (it agrees on the grader's random inputs): this "
            "submission is marked for review.")


def _specified_weights(model: nn.Module, network: Network, x: torch.Tensor
                       ) -> tuple[list[Weights], Problem | None]:
    """The model's weights in the order its forward pass uses them, when they are the
    specified layers' (any container, dtype, or raw parameters); else the problem."""
    weights, error = _called_weights(model, x)
    if error:
        return [], Problem(f"{network.name}() raised {error} on a batch of shape "
                           f"{tuple(x.shape)}.")
    if len(weights) != len(network.weighted) or not all(
            layer.matches(found) for layer, found in zip(network.weighted, weights,
                                                         strict=False)):
        listing = ", ".join(map(str, weights)) or "none of them"
        return [], Problem(f"{network.name} must have the layers "
                           f"{', '.join(map(str, network.weighted))}, in this order (it has "
                           f"{listing}).")
    return weights, None


def _called_weights(model: nn.Module, x: torch.Tensor) -> tuple[list[Weights], str]:
    """The model's weighted layers: its ``nn.Linear`` and ``nn.Conv2d`` modules in the order
    one forward pass calls them; for a model without them (weights written as
    ``nn.Parameter``, as in d2l's MLP from scratch), its parameters as weight-bias pairs in the
    order it registers them."""
    called: list[nn.Module] = []
    hooks = [module.register_forward_pre_hook(lambda m, _: called.append(m))
             for module in model.modules() if isinstance(module, (nn.Linear, nn.Conv2d))]
    try:
        with torch.no_grad():
            model(x)
    except Exception as error:  # the student's code
        return [], f"{type(error).__name__}: {error}"
    finally:
        for hook in hooks:
            hook.remove()
    if called:
        return [Weights.of_module(module) for module in called], ""
    return _parameter_pairs(list(model.parameters())), ""


def _parameter_pairs(parameters: list[torch.Tensor]) -> list[Weights]:
    """Each weight (a parameter of 2 or 4 dimensions) with the bias after it (1 dimension, one
    entry per output); a matrix is read as (out, in), or as (in, out) when its bias says so."""
    pairs, left = [], list(parameters)
    while left:
        weight = left.pop(0)
        if weight.dim() not in (2, 4) or not left or left[0].dim() != 1:
            return []
        bias = left.pop(0)
        transposed = weight.dim() == 2 and weight.shape[0] != len(bias) \
            and weight.shape[1] == len(bias)
        if not transposed and weight.shape[0] != len(bias):
            return []
        pairs.append(Weights.of_parameters(weight, bias, transposed))
    return pairs


def _input_scaling(model: nn.Module, network: Network, weights: list[Weights],
                   seed: int = 1) -> InputScaling:
    """The fixed scaling the model applies to its input before its first Linear layer, read
    from what that layer receives: for one input, the gradient of the layer's weight is the
    gradient of its bias times the input the layer saw (row by row), so the grader sees that
    input whatever the code that made it. IDENTITY when it is the image itself, or not a fixed
    elementwise scaling of it (the output comparison then says what differs)."""
    first = weights[0] if weights else None
    if not isinstance(network.layers[0], Linear) or first is None or first.parameter is None \
            or first.bias_parameter is None:
        return IDENTITY
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand((2, *network.input_shape), generator=generator)
    seen = []
    try:
        for image in images:
            model.zero_grad(set_to_none=True)
            with torch.enable_grad():
                out = model(image[None])
                direction = torch.randn(out.shape, generator=generator).to(out.dtype)
                (out * direction).sum().backward()
            weight_grad, bias_grad = first.parameter.grad, first.bias_parameter.grad
            if weight_grad is None or bias_grad is None:
                return IDENTITY
            weight_grad = (weight_grad.T if first.transposed else weight_grad).double()
            unit = int(bias_grad.abs().argmax())
            if float(bias_grad[unit]) == 0.0:
                return IDENTITY
            seen.append(weight_grad[unit] / float(bias_grad[unit]))
    except Exception:  # the student's code; the output comparison reports it
        return IDENTITY
    finally:
        model.zero_grad(set_to_none=True)
    pixels = images.flatten(1).double().flatten()
    received = torch.cat(seen)
    if received.shape != pixels.shape:
        return IDENTITY
    design = torch.stack([pixels, torch.ones_like(pixels)], dim=1)
    scale, shift = torch.linalg.lstsq(design, received[:, None]).solution.flatten().tolist()
    fitted = design @ torch.tensor([scale, shift], dtype=torch.float64)
    if not torch.allclose(fitted, received, rtol=1e-3, atol=1e-4 * float(received.abs().max())):
        return IDENTITY
    scaling = InputScaling(scale, shift)
    near_identity = abs(scale - 1.0) < 1e-5 and abs(shift) < 1e-5
    return IDENTITY if near_identity else scaling


def _output(model: nn.Module, network: Network, x: torch.Tensor) -> torch.Tensor | Problem:
    try:
        out = model(x)
    except Exception as error:  # the student's code
        return Problem(f"{network.name}() raised {type(error).__name__}: {error} on a batch of "
                       f"shape {tuple(x.shape)}.")
    if type(out) is not torch.Tensor or tuple(out.shape) != (len(x), _outputs(network)):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        return Problem(f"{network.name} must map a {(len(x), *network.input_shape)} batch to "
                       f"{(len(x), _outputs(network))} logits (it returns {shape}).")
    return out


def looks_like_probabilities(out: torch.Tensor) -> bool:
    """Rows of probabilities (non-negative, summing to 1) or of log-probabilities."""
    rows = out.double()
    ones = torch.ones(len(rows), dtype=torch.float64)
    probabilities = bool((rows >= 0).all()) and torch.allclose(rows.sum(dim=1), ones, atol=1e-4)
    log_probabilities = bool((rows <= 0).all()) and torch.allclose(rows.exp().sum(dim=1), ones,
                                                                  atol=1e-4)
    return probabilities or log_probabilities


def _grader_inputs(network: Network, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand((16, *network.input_shape), generator=generator)


def _cpu_copy(model: nn.Module) -> nn.Module:
    return copy.deepcopy(computing_module(model)).to("cpu").eval()


def _describe(layer: nn.Module) -> str:
    if isinstance(layer, nn.Linear):
        return f"Linear({layer.in_features}, {layer.out_features})"
    if isinstance(layer, nn.Conv2d):
        padding = layer.padding[0] if isinstance(layer.padding, tuple) else repr(layer.padding)
        return (f"Conv2d({layer.in_channels}, {layer.out_channels}, {layer.kernel_size[0]}, "
                f"padding={padding})")
    return str(layer)


def _outputs(network: Network) -> int:
    return network.weighted[-1].out_features if isinstance(network.weighted[-1], Linear) \
        else network.weighted[-1].out_channels


def _computes(out: torch.Tensor, network: Network, weights: list[Weights], x: torch.Tensor,
              layers: tuple[Layer, ...] | None = None,
              scaling: InputScaling | None = None) -> bool:
    """Whether ``out`` is what ``layers`` compute on ``x`` with these weights."""
    try:
        expected = network.compute(weights, x, layers, scaling)
    except RuntimeError:  # a mistaken network whose shapes do not fit these weights
        return False
    return _close(out, expected)


def _close(out: torch.Tensor, expected: torch.Tensor) -> bool:
    if out.shape != expected.shape:
        return False
    scale = float(expected.abs().max()) or 1.0
    return bool(torch.allclose(out.double(), expected.double(), rtol=1e-4, atol=1e-5 * scale))
