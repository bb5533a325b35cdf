"""Datasets for the labs: MNIST and Fashion-MNIST, verified against their checksums.

>>> from gpukit_student.data import load_mnist
>>> (x_train, y_train), (x_test, y_test) = load_mnist()  # like keras.datasets.mnist.load_data()

Offline, ``write_fashion_standin(data_dir)`` puts a generated stand-in for Fashion-MNIST in its
folder; ``load_fashion_mnist(data_dir)`` then loads it and says so
(see gpukit_student.data.standin).
"""

from gpukit_student.data.loader import (
    FileStatus,
    clear_cache,
    fetch_dataset,
    load_dataset,
    load_fashion_mnist,
    load_held_back,
    load_mnist,
    resolve_data_dir,
    resolve_spec,
    verify_dataset,
)
from gpukit_student.data.registry import (
    DATASETS,
    FASHION_MNIST_STANDIN,
    Checksum,
    DataFile,
    DatasetSpec,
    derive_spec,
)
from gpukit_student.data.standin import generate_fashion_standin, write_fashion_standin

__all__ = [
    "DATASETS",
    "FASHION_MNIST_STANDIN",
    "Checksum",
    "DataFile",
    "DatasetSpec",
    "FileStatus",
    "clear_cache",
    "derive_spec",
    "fetch_dataset",
    "generate_fashion_standin",
    "load_dataset",
    "load_fashion_mnist",
    "load_held_back",
    "load_mnist",
    "resolve_data_dir",
    "resolve_spec",
    "verify_dataset",
    "write_fashion_standin",
]
