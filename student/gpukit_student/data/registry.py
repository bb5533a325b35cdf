"""What each dataset consists of: file names, expected shapes, checksums and mirrors.

A :class:`DatasetSpec` is plain, frozen data, so it can be hashed (the loader's cache uses it as
a key) and derived from with :func:`derive_spec` or :func:`dataclasses.replace` (tests and
instructors build small datasets with their own shapes and checksums that way).

Checksums are published in different forms: we know the sha256 of MNIST's *uncompressed* files,
but Fashion-MNIST only publishes the md5 of its *.gz* files. :class:`Checksum` therefore records
both the algorithm and which bytes it covers, and the loader hashes the matching bytes.

A dataset may also have a generated stand-in (:data:`STAND_INS`), for machines that cannot
download it: a spec of its own, with its own checksums, that lives in the same folder and is
chosen by the loader only where :data:`STAND_IN_MARKER` marks that folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from gpukit_student.errors import DatasetError

ChecksumOf = Literal["compressed", "uncompressed"]

#: The four files of an MNIST-style dataset, in the order ``load_dataset`` returns them.
ROLES: tuple[str, ...] = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class Checksum:
    """A digest of either the compressed (``.gz``) or the uncompressed bytes of a file."""

    algorithm: str
    of: ChecksumOf
    hexdigest: str

    def __post_init__(self) -> None:
        # Fail when the registry (or a test) is written, not when a student loads the data.
        # shake_* digests need a length, so they cannot be used as a plain checksum.
        if (
            self.algorithm not in hashlib.algorithms_guaranteed
            or self.algorithm.startswith("shake")
        ):
            raise ValueError(f"unknown checksum algorithm {self.algorithm!r}")
        if self.of not in ("compressed", "uncompressed"):
            raise ValueError(
                f"Checksum.of must be 'compressed' or 'uncompressed', not {self.of!r}"
            )
        if self.hexdigest != self.hexdigest.lower() or not _is_hex(self.hexdigest):
            raise ValueError(
                f"checksum {self.hexdigest!r} is not a lower-case hex digest"
            )

    @classmethod
    def of_bytes(
        cls, data: bytes, *, algorithm: str = "sha256", of: ChecksumOf = "uncompressed"
    ) -> Checksum:
        """Return the checksum of ``data``; ``of`` says which form of the file ``data`` is."""
        return cls(algorithm=algorithm, of=of, hexdigest=_digest(algorithm, data))

    def compute(self, data: bytes) -> str:
        """Hex digest of ``data`` with this checksum's algorithm."""
        return _digest(self.algorithm, data)

    def describe(self) -> str:
        """Human-readable form, e.g. ``sha256 of the uncompressed bytes``."""
        return f"{self.algorithm} of the {self.of} bytes"


def _digest(algorithm: str, data: bytes) -> str:
    # md5 is an integrity check here, not security; saying so keeps FIPS-mode Pythons working.
    return hashlib.new(algorithm, data, usedforsecurity=False).hexdigest()


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdef" for c in text)


@dataclass(frozen=True)
class DataFile:
    """One IDX file of a dataset, stored on disk as ``filename`` or ``filename.gz``."""

    filename: str
    shape: tuple[int, ...]
    checksum: Checksum

    def __post_init__(self) -> None:
        # Specs are cache keys, so they must stay hashable even if given a list or numpy shape.
        object.__setattr__(self, "shape", tuple(int(n) for n in self.shape))


@dataclass(frozen=True)
class DatasetSpec:
    """An MNIST-style dataset: four IDX files and the mirrors that serve ``<filename>.gz``.

    ``name`` is used in messages and, unless ``folder`` is given, as the folder of the files under
    the data directory. A stand-in sets ``folder`` to share the folder of the dataset it replaces.
    """

    name: str
    train_images: DataFile
    train_labels: DataFile
    test_images: DataFile
    test_labels: DataFile
    mirrors: tuple[str, ...] = ()
    folder: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "mirrors", tuple(self.mirrors)
        )  # hashable, as for shapes

    @property
    def files(self) -> tuple[DataFile, ...]:
        """The four files in :data:`ROLES` order."""
        return tuple(getattr(self, role) for role in ROLES)

    @property
    def folder_name(self) -> str:
        """The folder of the files under the data directory: ``folder``, else ``name``."""
        return self.folder or self.name


def derive_spec(
    base: DatasetSpec,
    *,
    name: str | None = None,
    shapes: Mapping[str, tuple[int, ...]] | None = None,
    checksums: Mapping[str, Checksum] | None = None,
    mirrors: Sequence[str] | None = None,
) -> DatasetSpec:
    """Copy ``base`` with some fields replaced; ``shapes`` and ``checksums`` are keyed by role.

    Roles are ``train_images``, ``train_labels``, ``test_images`` and ``test_labels``. File names
    are kept, so a derived spec reads the same directory layout as its base.
    """
    shapes = dict(shapes or {})
    checksums = dict(checksums or {})
    unknown = (set(shapes) | set(checksums)) - set(ROLES)
    if unknown:
        raise ValueError(
            f"unknown roles {sorted(unknown)}; expected some of {list(ROLES)}"
        )
    files = {
        role: DataFile(
            filename=getattr(base, role).filename,
            shape=shapes.get(role, getattr(base, role).shape),
            checksum=checksums.get(role, getattr(base, role).checksum),
        )
        for role in ROLES
    }
    return dataclasses.replace(
        base,
        name=base.name if name is None else name,
        mirrors=base.mirrors if mirrors is None else mirrors,
        **files,
    )


def _sha256(hexdigest: str) -> Checksum:
    return Checksum(algorithm="sha256", of="uncompressed", hexdigest=hexdigest)


def _md5_gz(hexdigest: str) -> Checksum:
    return Checksum(algorithm="md5", of="compressed", hexdigest=hexdigest)


_TRAIN_IMAGES = "train-images-idx3-ubyte"
_TRAIN_LABELS = "train-labels-idx1-ubyte"
_TEST_IMAGES = "t10k-images-idx3-ubyte"
_TEST_LABELS = "t10k-labels-idx1-ubyte"

# The uncompressed sha256s are used for MNIST because re-compressed copies (like the one in the
# course's shared data folder) have different .gz bytes but identical contents.
MNIST = DatasetSpec(
    name="mnist",
    train_images=DataFile(
        _TRAIN_IMAGES,
        (60000, 28, 28),
        _sha256("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    ),
    train_labels=DataFile(
        _TRAIN_LABELS,
        (60000,),
        _sha256("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    ),
    test_images=DataFile(
        _TEST_IMAGES,
        (10000, 28, 28),
        _sha256("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    ),
    test_labels=DataFile(
        _TEST_LABELS,
        (10000,),
        _sha256("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    ),
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        # TensorFlow's long-standing mirror of the original files; the checksum guards both.
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
)

# Fashion-MNIST publishes only md5 sums of its .gz files, so those bytes are what we check.
FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    train_images=DataFile(
        _TRAIN_IMAGES, (60000, 28, 28), _md5_gz("8d4fb7e6c68d591d4c3dfef9ec88bf0d")
    ),
    train_labels=DataFile(
        _TRAIN_LABELS, (60000,), _md5_gz("25c81989df183df01b3e8a0aad5dffbe")
    ),
    test_images=DataFile(
        _TEST_IMAGES, (10000, 28, 28), _md5_gz("bef4ecab320f06d8554ea6380940ec79")
    ),
    test_labels=DataFile(
        _TEST_LABELS, (10000,), _md5_gz("bb300cfdad3c16e7a12a480ee83cd310")
    ),
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
)

DATASETS: dict[str, DatasetSpec] = {"mnist": MNIST, "fashion-mnist": FASHION_MNIST}

#: Put by gpukit in a dataset's folder beside the files of its generated stand-in. Its presence is
#: what makes the loader check that folder against the stand-in's checksums instead of the
#: official ones (so no other files are ever accepted), and announce that it loads a stand-in.
STAND_IN_MARKER = "STAND-IN.txt"

# Generated by gpukit_student.data.standin for machines that cannot download Fashion-MNIST: the
# same file names in the same folder, fewer images, and the sha256 of the bytes the generator
# writes (a test regenerates them, so a generator that drifts on some platform fails CI). No
# mirrors: it is made with `gpukit-data fetch fashion-mnist --stand-in`, never downloaded.
FASHION_MNIST_STANDIN = DatasetSpec(
    name="fashion-mnist (generated stand-in)",
    folder=FASHION_MNIST.name,
    train_images=DataFile(
        _TRAIN_IMAGES,
        (12000, 28, 28),
        _sha256("6e060eb9feba98446c3711ecd9835f1c9ad86584fce5936c855a6880ef9f505e"),
    ),
    train_labels=DataFile(
        _TRAIN_LABELS,
        (12000,),
        _sha256("f637aba6d81d3ba8f0c823109e8608dfcda248fa79d93376436c77e2e4d54b0b"),
    ),
    test_images=DataFile(
        _TEST_IMAGES,
        (2000, 28, 28),
        _sha256("c76c047b04a7b149ff3a8358d4f309f9e9cd1153a388b41f78aa339544149d7e"),
    ),
    test_labels=DataFile(
        _TEST_LABELS,
        (2000,),
        _sha256("5874a87bb5cc14b2699a8972c4c80899462541ec3e6cfcf4441384219de088d1"),
    ),
)

#: Generated stand-ins, by the name of the dataset whose folder they may take. They are not in
#: :data:`DATASETS`: they are another content of that dataset's folder, not datasets of their own.
STAND_INS: dict[str, DatasetSpec] = {FASHION_MNIST.name: FASHION_MNIST_STANDIN}


def get_spec(name_or_spec: str | DatasetSpec) -> DatasetSpec:
    """Return the spec itself, or look a dataset name up in :data:`DATASETS`.

    Names are matched case-insensitively, with ``_`` accepted for ``-`` (``fashion_mnist``).
    """
    if isinstance(name_or_spec, DatasetSpec):
        return name_or_spec
    key = str(name_or_spec).strip().lower().replace("_", "-")
    try:
        return DATASETS[key]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise DatasetError(
            f"Unknown dataset {name_or_spec!r}.",
            hint=f"Use one of: {known}.",
        ) from None
