"""What a PyTorch model computes, checked from its own weights, however it is written.

A lab specifies a network as a sequence of layers (:class:`Network`). Students write it in many
correct ways: modules or functional calls (``nn.ReLU()`` or ``torch.relu``, ``nn.MaxPool2d`` or
``F.max_pool2d``), ``nn.Sequential`` or attributes, ``view`` or ``nn.Flatten``, wrappers that do
nothing. So the check does not read the spelling. It finds the layers that hold the weights the
specification names (every ``nn.Linear`` and ``nn.Conv2d``, in the order the model *calls* them),
computes with those weights what the specified network computes on the grader's own random
inputs, and compares that with the model's output. A model that computes something else fails
with a sentence naming the difference, found by trying the usual mistakes (a softmax at the end,
a missing ReLU, another pooling).

The same weights also give the accuracy (:func:`grader_logits`): the grader computes the trained
model's logits on the test images with its own code, so no ``forward`` that recognises test
images can raise it. The model's own output on those images must agree with the grader's; where
it agrees on the grader's random inputs but not on real images, the model computes the specified
network except on the data it is graded with: a :class:`Problem` marked ``integrity``.

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
class Linear:
    in_features: int
    out_features: int

    def __str__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features})"

    def matches(self, module: nn.Module) -> bool:
        return isinstance(module, nn.Linear) and module.bias is not None and \
            (module.in_features, module.out_features) == (self.in_features, self.out_features)

    def apply(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x.flatten(1), module.weight, module.bias)


@dataclass(frozen=True)
class Conv2d:
    in_channels: int
    out_channels: int
    kernel_size: int
    padding: int

    def __str__(self) -> str:
        return (f"Conv2d({self.in_channels}, {self.out_channels}, {self.kernel_size}, "
                f"padding={self.padding})")

    def matches(self, module: nn.Module) -> bool:
        k, p = self.kernel_size, self.padding
        # padding="same" is padding (k - 1) / 2 for an odd kernel at stride 1.
        padding = (p, p) if module.padding == "same" and 2 * p == k - 1 else module.padding
        return isinstance(module, nn.Conv2d) and module.bias is not None and \
            (module.in_channels, module.out_channels) == (self.in_channels, self.out_channels) \
            and tuple(module.kernel_size) == (k, k) and tuple(module.stride) == (1, 1) \
            and tuple(module.dilation) == (1, 1) and module.groups == 1 and padding == (p, p)

    def apply(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, module.weight, module.bias, padding=self.padding)


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

    def compute(self, modules: list[nn.Module], x: torch.Tensor,
                layers: tuple[Layer, ...] | None = None) -> torch.Tensor:
        """What ``layers`` (default: the specified ones) compute with these modules' weights."""
        weights = iter(modules)
        for layer in layers or self.layers:
            x = layer.function(x) if isinstance(layer, Activation) else layer.apply(next(weights),
                                                                                   x)
        return x

    def sized_like(self, modules: list[nn.Module]) -> Network | None:
        """This network with the layer sizes of ``modules`` (the model's own weight layers, in
        call order), when they are of the specified kinds; else None. A model with other sizes
        than specified still has its accuracy computed from its weights: the sizes cost the
        architecture check, not the accuracy check."""
        if len(modules) != len(self.weighted):
            return None
        sized, modules_left = [], iter(modules)
        for layer in self.layers:
            if isinstance(layer, Activation):
                sized.append(layer)
                continue
            module = next(modules_left)
            if isinstance(layer, Linear) and isinstance(module, nn.Linear) \
                    and module.bias is not None:
                sized.append(Linear(module.in_features, module.out_features))
            elif isinstance(layer, Conv2d) and isinstance(module, nn.Conv2d):
                resized = Conv2d(module.in_channels, module.out_channels, layer.kernel_size,
                                 layer.padding)
                if not resized.matches(module):
                    return None
                sized.append(resized)
            else:
                return None
        return Network(self.name, tuple(sized), self.input_shape)

    def mistakes(self) -> list[tuple[tuple[Layer, ...], str]]:
        """Networks a student writes by mistake, each with the sentence that names it."""
        found = [((*self.layers, SOFTMAX), f"{self.name} must return logits, not probabilities: "
                  "nn.CrossEntropyLoss applies the softmax itself."),
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


def check_model(model: nn.Module, network: Network, *, probe: torch.Tensor | None = None,
                seed: int = 0) -> Problem | None:
    """None when ``model`` computes ``network`` from its own weights, on the grader's random
    inputs and on the ``probe`` images (real data, e.g. test images); else the problem."""
    x = _grader_inputs(network, seed)
    model = _cpu_copy(model)
    modules, problem = _weight_layers(model, network, x)
    if problem:
        return problem
    with torch.no_grad():
        out = _output(model, network, x)
        if isinstance(out, Problem):
            return out
        if not _computes(out, network, modules, x):
            for layers, sentence in network.mistakes():
                if _computes(out, network, modules, x, layers):
                    return Problem(sentence)
            if looks_like_probabilities(out):
                return Problem(network.mistakes()[0][1])
            return Problem(f"{network.name}'s output is not what {network} computes with its "
                           "own weights: compute exactly these layers, in this order, and "
                           "nothing else.")
        if probe is not None:
            out = _output(model, network, probe)
            if isinstance(out, Problem) or not _computes(out, network, modules, probe):
                return Problem(_differs_on_data(network), integrity=True)
    return None


def grader_logits(model: nn.Module, network: Network, images: torch.Tensor, *,
                  batch_size: int = 2048) -> tuple[torch.Tensor | None, Problem | None]:
    """The logits the specified network computes on ``images`` with the model's trained weights
    (the grader's own forward pass), and a problem when the model is not that network or its
    own output on ``images`` disagrees with the grader's (then ``integrity``)."""
    model = _cpu_copy(model)
    x = _grader_inputs(network, 0)
    modules, error = _called_weight_layers(model, x)
    sized = network.sized_like(modules) if not error else None
    layers = _computed_layers(model, sized, modules, x) if sized else None
    if layers is None:  # the architecture check says what differs
        return None, Problem(f"{network.name} is not the network the instructions specify "
                             f"({network}), so the grader cannot compute its accuracy from its "
                             "weights.")
    with torch.no_grad():
        logits = torch.cat([sized.compute(modules, images[i:i + batch_size], layers)
                            for i in range(0, len(images), batch_size)])
        agrees = True
        for i in range(0, len(images), batch_size):
            out = _output(model, network, images[i:i + batch_size])
            agrees = agrees and not isinstance(out, Problem) and \
                _close(out, logits[i:i + batch_size])
    return logits, None if agrees else Problem(_differs_on_data(network), integrity=True)


def _computed_layers(model: nn.Module, network: Network, modules: list[nn.Module],
                     x: torch.Tensor) -> tuple[Layer, ...] | None:
    """Which network the model computes on the grader's inputs: the specified one, or one of
    the usual mistakes (a softmax at the end, a missing ReLU), whose accuracy the grader can
    still compute; None when it is none of them."""
    with torch.no_grad():
        out = _output(model, network, x)
        if isinstance(out, Problem):
            return None
        for layers in (network.layers, *(layers for layers, _ in network.mistakes())):
            if _computes(out, network, modules, x, layers):
                return layers
    return None


def _differs_on_data(network: Network) -> str:
    return (f"{network.name}'s output on the test images differs from what the network its own "
            "weights define computes (it agrees on the grader's random inputs): the grader "
            "computes accuracy from the weights alone, and this submission is marked for "
            "review.")


def _weight_layers(model: nn.Module, network: Network, x: torch.Tensor
                   ) -> tuple[list[nn.Module], Problem | None]:
    """The model's weight layers in the order its forward pass calls them, when they are the
    specified ones; else the problem."""
    modules, error = _called_weight_layers(model, x)
    if error:
        return [], Problem(f"{network.name}() raised {error} on a batch of shape "
                           f"{tuple(x.shape)}.")
    if len(modules) != len(network.weighted) or not all(
            layer.matches(module) for layer, module in zip(network.weighted, modules,
                                                           strict=False)):
        return [], Problem(f"{network.name} must have the layers "
                           f"{_listing(network.weighted)}, in this order (it runs "
                           f"{_listing(modules) or 'none of them'}).")
    return modules, None


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
    inner = model.module if isinstance(model, nn.DataParallel) else model
    return copy.deepcopy(inner).to("cpu").eval()


def _called_weight_layers(model: nn.Module, x: torch.Tensor) -> tuple[list[nn.Module], str]:
    """The Linear and Conv2d modules in the order one forward pass calls them."""
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
    return called, ""


def _listing(layers: list) -> str:
    return ", ".join(_describe(layer) for layer in layers)


def _describe(layer: object) -> str:
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


def _computes(out: torch.Tensor, network: Network, modules: list[nn.Module], x: torch.Tensor,
              layers: tuple[Layer, ...] | None = None) -> bool:
    """Whether ``out`` is what ``layers`` compute on ``x`` with the modules' weights."""
    try:
        expected = network.compute(modules, x, layers)
    except RuntimeError:  # a mistaken network whose shapes do not fit these weights
        return False
    return _close(out, expected)


def _close(out: torch.Tensor, expected: torch.Tensor) -> bool:
    if out.shape != expected.shape:
        return False
    scale = float(expected.abs().max()) or 1.0
    return bool(torch.allclose(out.double(), expected.double(), rtol=1e-4, atol=1e-5 * scale))
