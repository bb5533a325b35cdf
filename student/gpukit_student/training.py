"""What the notebook trained, as the grader's checks need to know it.

One global forward pre-hook (installed with the cell clock, gpukit_student/clock.py) notes

* which model parameters each cell *updated* after running them forward: PyTorch counts every
  in-place change of a tensor (an optimizer's step, a hand-written ``p -= lr * p.grad``), so
  an evaluation that forgets ``torch.no_grad()`` runs forward but updates nothing. A check then
  tells whether the cell that reported a training time is the one that trained the graded model.
* a fingerprint of every input batch a gradient step followed (a forward in training mode with
  gradients, after which the module's parameters changed): each image's pixels, centred and
  scaled to unit length (so ``/ 255``, a normalisation, float64 change nothing), projected on a
  few fixed random directions. A check then counts how many of the test set's images the graded
  model took a step on.

The cost is a dictionary lookup per module call and, in training, a small matrix product per
batch (on the batch's device, without waiting for a GPU).
"""

from __future__ import annotations

import warnings
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Inputs with more values per example than this (a CNN's inner activations) are not
# fingerprinted: images of the labs have 784.
MAX_FINGERPRINTED_VALUES = 4096
FINGERPRINT_DIMENSIONS = 4
# Fingerprints are compared after rounding to this many decimals (values are about N(0, 1)).
FINGERPRINT_DECIMALS = 3


@dataclass
class TrainingWatch:
    versions: Any = None  # parameter -> its version at its first forward in the current cell
    modules: weakref.WeakSet = field(default_factory=weakref.WeakSet)  # run in this cell
    # module -> (fingerprints of its last training input, its parameters' version total then)
    pending: weakref.WeakKeyDictionary = field(default_factory=weakref.WeakKeyDictionary)
    # module -> fingerprints of the inputs a gradient step of its parameters followed
    stepped_on: weakref.WeakKeyDictionary = field(default_factory=weakref.WeakKeyDictionary)
    installed: bool = False
    compiling: Any = staticmethod(lambda: False)  # torch.compiler.is_compiling, once installed
    _projections: dict = field(default_factory=dict)

    def install(self) -> Any:
        """Start watching (the handle's ``remove()`` stops it)."""
        import torch
        from torch.utils.weak import WeakIdKeyDictionary

        self.versions = WeakIdKeyDictionary()
        self.compiling = torch.compiler.is_compiling
        self.installed = True
        return torch.nn.modules.module.register_module_forward_pre_hook(self.forward_pre_hook)

    def forward_pre_hook(self, module: Any, args: Any) -> None:
        # Inside a graph torch.compile traces, nothing is noted (nor traced): the compiled
        # module's own call, outside it, already noted every parameter.
        if self.compiling():
            return
        if module not in self.modules:
            self.modules.add(module)
            for parameter in module.parameters():
                if parameter not in self.versions:
                    self.versions[parameter] = parameter._version
        self._settle(module)
        x = args[0] if args else None
        if module.training and _grad_enabled() and _is_batch(x):
            total = _version_total(module)
            if total is not None:
                self.pending[module] = (self._fingerprints(x), total)

    def end_of_cell(self) -> Any:
        """The parameters updated since their first forward in this cell (held by identity:
        tensors compare elementwise), after noting the steps its last batches led to."""
        for module in list(self.pending.keys()):
            self._settle(module)
        self.pending.clear()
        if self.versions is None:
            return {}
        from torch.utils.weak import WeakIdKeyDictionary

        updated = WeakIdKeyDictionary({parameter: True for parameter, version
                                       in list(self.versions.items())
                                       if parameter._version != version})
        self.versions.clear()
        self.modules.clear()
        return updated

    def steps_on(self, parameters: Any, images: Any) -> int:
        """How many of ``images`` (a tensor of examples) a gradient step of any of
        ``parameters`` followed."""
        wanted = {id(parameter) for parameter in parameters}
        seen = [fingerprints for module, batches in list(self.stepped_on.items())
                if any(id(parameter) in wanted for parameter in module.parameters())
                for fingerprints in batches]
        if not seen or not _is_batch(images):
            return 0
        import torch

        trained = _keys(torch.cat([f.cpu() for f in seen]))
        return int(np.isin(_keys(self._fingerprints(images).cpu()), trained).sum())

    def _settle(self, module: Any) -> None:
        pending = self.pending.pop(module, None)
        if pending is not None and _version_total(module) != pending[1]:
            self.stepped_on.setdefault(module, []).append(pending[0])

    def _fingerprints(self, x: Any) -> Any:
        import torch

        rows = x.detach().flatten(1).float()
        rows = rows - rows.mean(dim=1, keepdim=True)
        rows = rows / rows.norm(dim=1, keepdim=True).clamp_min(1e-12)
        key = (rows.shape[1], rows.device)
        if key not in self._projections:
            generator = torch.Generator().manual_seed(20261204)
            self._projections[key] = torch.randn(
                rows.shape[1], FINGERPRINT_DIMENSIONS, generator=generator).to(rows.device)
        return rows @ self._projections[key]  # each value about N(0, 1)


WATCH = TrainingWatch()


def watch_training() -> None:
    """Install the watch (once; the grading kernel does it before its integrity baseline, and
    the cell clock when the notebook starts it)."""
    try:
        import torch  # noqa: F401
    except ImportError:  # a lab without PyTorch: nothing to watch
        return
    if WATCH.installed:
        return
    WATCH.install()
    # torch.compile warns of global hooks firing once more for the compiled module; noting a
    # module twice notes nothing new, and the student registered nothing.
    warnings.filterwarnings("ignore", message=r"Using `torch.compile\(module\)` when there are "
                            "global hooks")
    WATCH.installed = True


def _grad_enabled() -> bool:
    import torch

    return torch.is_grad_enabled()


def _is_batch(x: Any) -> bool:
    import torch

    return isinstance(x, torch.Tensor) and x.dim() >= 2 and x.is_floating_point() \
        and len(x) > 0 and 1 < x[0].numel() <= MAX_FINGERPRINTED_VALUES


def _version_total(module: Any) -> int | None:
    versions = [parameter._version for parameter in module.parameters()]
    return sum(versions) if versions else None


def _keys(fingerprints: Any) -> np.ndarray:
    """Rounded fingerprints as one 64-bit key per example, a hash of its rounded values:
    comparing integers is ten times faster than comparing rows (hundreds of thousands of
    training examples), and two different rows share a key with odds of about 2**-64."""
    rounded = np.round(fingerprints.double().numpy(), FINGERPRINT_DECIMALS)
    bits = np.ascontiguousarray(rounded + 0.0).view(np.uint64)  # + 0.0: no negative zeros
    keys = np.zeros(len(bits), dtype=np.uint64)
    for column in bits.T:  # arrays of unsigned integers wrap around on overflow
        keys = (keys ^ column) * np.uint64(0x9E3779B97F4A7C15)
        keys ^= keys >> np.uint64(29)
    return keys
