"""What a gpukit lab's notebook needs on a student's machine, and nothing of the instructor's.

The setup cell of each lab imports from here::

    from gpukit_student import load_mnist, install_cell_clock

* :mod:`gpukit_student.data`: MNIST and Fashion-MNIST, checked against their checksums, from a
  data directory (``$GPUKIT_DATA_DIR``, else ``~/.gpukit/data``); downloads only when asked
  (``load_mnist(download=True)`` or ``gpukit-data fetch mnist``), and an offline stand-in for
  Fashion-MNIST (``gpukit-data fetch fashion-mnist --stand-in``).
* :func:`install_cell_clock`: times every cell, so the grader can compare the training times a
  notebook reports with its own measurement.

It needs NumPy only (tqdm, if installed, draws download progress bars) and works with whatever
PyTorch or TensorFlow the student has. The instructor's kit (``gpukit``) depends on this package
and grades with its own installed copy, never with one found beside a submission.
"""

from gpukit_student.clock import install_cell_clock
from gpukit_student.data import (
    fetch_dataset,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
    verify_dataset,
    write_fashion_standin,
)
from gpukit_student.errors import DatasetError, GpukitError

__version__ = "0.1.0"

__all__ = [
    "DatasetError",
    "GpukitError",
    "__version__",
    "fetch_dataset",
    "install_cell_clock",
    "load_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "verify_dataset",
    "write_fashion_standin",
]
