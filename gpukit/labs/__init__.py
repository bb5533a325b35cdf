"""The kit's labs: for each, its notebook template and written-question criteria.

A lab's files live in ``gpukit/labs/<template>/``; the config class of the lab (in
:mod:`gpukit.config`) names the template and supplies the parameters. Every lab's rubric is
rendered from the one ``gpukit/labs/rubric.md.j2``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

LABS_DIR = Path(__file__).parent


@dataclass(frozen=True)
class LabFiles:
    template: str       # folder name under gpukit/labs/
    notebook_name: str  # the notebook's file name inside source/<assignment>/
    title: str          # what the lab teaches, for headings
    datasets: tuple[str, ...] = ()  # what the notebook loads (checked before grading starts)

    @property
    def notebook_template(self) -> str:
        return f"{self.template}/notebook.nb.j2"

    rubric_template = "rubric.md.j2"

    def questions(self) -> list[dict]:
        """The written questions' grading criteria (``labs/<template>/rubric.py``)."""
        return importlib.import_module(f"gpukit.labs.{self.template}.rubric").QUESTIONS


LABS = {
    "core_mnist": LabFiles("core_mnist", "mnist_keras_pytorch.ipynb",
                           "MNIST in Keras and PyTorch", ("mnist",)),
    "gpu_basics": LabFiles("gpu_basics", "pytorch_gpu_basics.ipynb",
                           "PyTorch on the GPU: devices, moving data, memory"),
    "fashion_ann": LabFiles("fashion_ann", "fashion_mnist_ann.ipynb",
                            "A Fashion-MNIST ANN on the GPU", ("fashion-mnist",)),
    "cpu_vs_gpu": LabFiles("cpu_vs_gpu", "cpu_vs_gpu_alexnet.ipynb",
                           "CPU versus GPU with an AlexNet-style CNN", ("fashion-mnist",)),
}
