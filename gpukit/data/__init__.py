"""Datasets for the labs: MNIST and Fashion-MNIST, verified against their checksums.

>>> from gpukit.data import load_mnist
>>> (x_train, y_train), (x_test, y_test) = load_mnist()  # like keras.datasets.mnist.load_data()
"""

from gpukit.data.loader import (
    FileStatus,
    clear_cache,
    fetch_dataset,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
    resolve_data_dir,
    verify_dataset,
)
from gpukit.data.registry import DATASETS, Checksum, DataFile, DatasetSpec, derive_spec

__all__ = [
    "DATASETS",
    "Checksum",
    "DataFile",
    "DatasetSpec",
    "FileStatus",
    "clear_cache",
    "derive_spec",
    "fetch_dataset",
    "load_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "resolve_data_dir",
    "verify_dataset",
]
