"""A generated stand-in for Fashion-MNIST, for machines that cannot download the real one.

The stand-in has Fashion-MNIST's file names, IDX format, 28x28 uint8 images and ten classes in
Fashion-MNIST's order, but its images are simple silhouettes drawn here: 12,000 for training and
2,000 for testing, the classes balanced. With per-sample shifts, sizes, brightness, texture and
occlusion, and the tops (T-shirt, pullover, coat, shirt) sharing most of their shape, it is about
as hard as the real data for a small network: a two-hidden-layer MLP reaches about 0.90 test
accuracy in 3 epochs (Fashion-MNIST: about 0.87); bench/standin_difficulty.py measures it.

The files are checked against sha256 digests in the registry like any dataset, so the generator
must give the same bytes on every machine. Hence: ``np.random.RandomState`` (its streams are frozen
by numpy's compatibility policy, unlike ``default_rng``), every draw with an explicit ``int32``
dtype (the default integer type differs between platforms), and integer arithmetic only, no
floats, so no rounding can differ between CPUs or libraries.

:func:`write_fashion_standin` writes the files into ``<data_dir>/fashion-mnist/`` together with
``STAND-IN.txt``; that marker is what makes the loader check the folder against the stand-in's
checksums instead of the official ones, and say that it is loading the stand-in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpukit_student.data.idx import decompress, encode_idx
from gpukit_student.data.loader import PathLike, _make_dir, resolve_data_dir, staged_file
from gpukit_student.data.registry import (
    FASHION_MNIST,
    FASHION_MNIST_STANDIN,
    ROLES,
    STAND_IN_MARKER,
    DataFile,
)
from gpukit_student.errors import DatasetError

N_TRAIN = 12000
N_TEST = 2000
#: Fashion-MNIST's classes, in the order of its labels 0..9.
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot")
SIZE = 28
# One seed per split, so that changing the size of one split leaves the other unchanged.
TRAIN_SEED = 20240611
TEST_SEED = 20240612

Split = tuple[np.ndarray, np.ndarray]


# --------------------------------------------------------------------------- public API


def generate_fashion_standin() -> tuple[Split, Split]:
    """Return the stand-in as ``((x_train, y_train), (x_test, y_test))`` uint8 arrays.

    ``x`` has shape (N, 28, 28) and ``y`` shape (N,), with N = :data:`N_TRAIN` or :data:`N_TEST`;
    each class has N / 10 samples, in shuffled order. The result is the same, bit for bit, on
    every machine (the registry holds the sha256 of its IDX files).
    """
    return _make_split(TRAIN_SEED, N_TRAIN), _make_split(TEST_SEED, N_TEST)


def write_fashion_standin(data_dir: PathLike | None = None) -> Path:
    """Write the stand-in into ``<data_dir>/fashion-mnist/``; return that folder.

    Writes the four IDX files (uncompressed) and ``STAND-IN.txt``, each through a temporary file
    renamed into place. Files of the stand-in already there are kept, so running it again does
    nothing. Any other file under one of Fashion-MNIST's names (such as the real dataset) raises
    :class:`DatasetError` before anything is written: gpukit never writes over a user's files.
    """
    root = resolve_data_dir(data_dir)
    directory = root / FASHION_MNIST.folder_name
    files = FASHION_MNIST_STANDIN.files
    _refuse_other_files(directory, root, files)
    missing = [file for file in files if not _present(directory, file)]
    marker = directory / STAND_IN_MARKER
    if not missing and marker.is_file():
        return directory
    _make_dir(directory)
    # The marker goes first: a stand-in file is never in the folder without its label, so an
    # interrupted run is reported as "stand-in, incomplete", not as a corrupt Fashion-MNIST.
    if not marker.is_file():
        _write_atomically(marker, _marker_text().encode())
    if missing:
        (x_train, y_train), (x_test, y_test) = generate_fashion_standin()
        arrays = dict(zip(ROLES, (x_train, y_train, x_test, y_test), strict=True))
        for role, file in zip(ROLES, files, strict=True):
            if file in missing:
                _write_atomically(directory / file.filename, _checked_bytes(arrays[role], file))
    return directory


# --------------------------------------------------------------------------- writing


def _present(directory: Path, file: DataFile) -> list[Path]:
    """The files stored under ``file``'s name in ``directory``, plain or .gz."""
    paths = (directory / file.filename, directory / f"{file.filename}.gz")
    return [path for path in paths if path.is_file()]


def _is_stand_in_file(path: Path, file: DataFile) -> bool:
    try:
        data = decompress(path.read_bytes(), source=str(path))
    except (OSError, DatasetError):  # unreadable or broken gzip: not ours either way
        return False
    return file.checksum.compute(data) == file.checksum.hexdigest


def _refuse_other_files(directory: Path, root: Path, files: tuple[DataFile, ...]) -> None:
    others = [path for file in files for path in _present(directory, file)
              if not _is_stand_in_file(path, file)]
    if others:
        names = ", ".join(path.name for path in others)
        raise DatasetError(
            f"{directory} already holds files that are not the generated stand-in: {names} "
            "(the real Fashion-MNIST, or other data). gpukit does not write over them.",
            hint=f"Use them as they are (check them with `gpukit-data verify fashion-mnist "
            f"--data-dir {root}`), or move them away first if you really want the stand-in.",
        )


def _checked_bytes(array: np.ndarray, file: DataFile) -> bytes:
    """IDX bytes of ``array``, refused unless they match the registered checksum."""
    data = encode_idx(array)
    actual = file.checksum.compute(data)
    if actual != file.checksum.hexdigest:
        # Only a change to the generator or a numpy that broke its stream policy gets here; files
        # that differ between machines would make grading results differ, so write nothing.
        raise DatasetError(
            f"The generated {file.filename} does not match the stand-in's registered checksum "
            f"({file.checksum.describe()}): expected {file.checksum.hexdigest}, got {actual}.",
            hint="This is a bug in gpukit or a numpy it does not support; please report it "
            f"with your numpy version ({np.__version__}).",
        )
    return data


def _write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to a hidden temporary file beside ``target``, then rename it into place."""
    with staged_file(target) as tmp:
        tmp.write_bytes(data)


def _marker_text() -> str:
    names = "".join(f"\n        {file.filename}.gz" for file in FASHION_MNIST.files)
    return f"""\
GENERATED STAND-IN: this folder does NOT hold Zalando's Fashion-MNIST.

The four IDX files here have Fashion-MNIST's names, format and classes, but their images are
simple silhouettes drawn by gpukit (gpukit_student/data/standin.py): {N_TRAIN} training and
{N_TEST} test images of 28x28 pixels, the same on every machine. They let the labs run and be
graded on a machine that cannot download the real dataset. Accuracies measured on them are not
Fashion-MNIST accuracies.

Because this file ({STAND_IN_MARKER}) is here, gpukit checks the files against the stand-in's
own checksums (any other files are refused), and says that it uses the stand-in when it loads
them.

To use the real Fashion-MNIST instead, delete this whole folder, then either
  * on a machine that is online, run
        gpukit-data fetch fashion-mnist --data-dir <the folder that contains this one>
  * or create the folder again and copy the four official files into it:{names}
    then check them with
        gpukit-data verify fashion-mnist --data-dir <the folder that contains this one>
"""


# --------------------------------------------------------------------------- drawing
#
# Each class is drawn for all of its samples at once: parameters are (n, 1, 1) integer arrays
# that broadcast against the pixel grid, and shapes are integer inequalities on the coordinates.
# Distances from the centre column are doubled (|2x - 2cx + 1|) so that shapes stay symmetric.

_Y = np.arange(SIZE, dtype=np.int32).reshape(1, SIZE, 1)
_X = np.arange(SIZE, dtype=np.int32).reshape(1, 1, SIZE)


class _Sampler:
    """Draws one integer per sample, as an (n, 1, 1) array, from a RandomState."""

    def __init__(self, rs: np.random.RandomState, n: int):
        self.rs = rs
        self.n = n

    def ints(self, low: int, high: int) -> np.ndarray:
        """Uniform integers in ``[low, high]`` (both included)."""
        return self.rs.randint(low, high + 1, size=(self.n, 1, 1), dtype=np.int32)

    def chance(self, percent: int) -> np.ndarray:
        """True for about ``percent`` % of the samples."""
        return self.ints(0, 99) < percent

    def pixels(self, low: int, high: int) -> np.ndarray:
        """Uniform integers in ``[low, high]``, one per pixel of every sample."""
        return self.rs.randint(low, high + 1, size=(self.n, SIZE, SIZE), dtype=np.int32)


def _rect(x0: np.ndarray, x1: np.ndarray, y0: np.ndarray, y1: np.ndarray) -> np.ndarray:
    """Pixels with ``x0 <= x < x1`` and ``y0 <= y < y1``."""
    return (_X >= x0) & (_X < x1) & (_Y >= y0) & (_Y < y1)


def _lerp(t: np.ndarray, t0: np.ndarray, t1: np.ndarray, v0: np.ndarray, v1: np.ndarray):
    """v going from v0 at t0 to v1 at t1, rounded down (integers only)."""
    return v0 + (t - t0) * (v1 - v0) // np.maximum(t1 - t0, 1)


def _ellipse(dist2: np.ndarray, dy: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Inside the ellipse with half-axes a (x) and b (y); ``dist2`` is the doubled x distance."""
    return dist2 * dist2 * b * b + 4 * dy * dy * a * a <= 4 * a * a * b * b


_TOP_LENGTH = {"tshirt": (16, 20), "pullover": (16, 20), "coat": (19, 23), "shirt": (16, 21)}


def _top(r: _Sampler, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """T-shirt, pullover, coat or shirt: one torso-and-sleeves shape, told apart by details."""
    cx = 14 + r.ints(-2, 2)
    y0 = 4 + r.ints(-2, 2)
    half = r.ints(6, 8) if kind == "pullover" else r.ints(5, 7)
    y1 = np.minimum(y0 + r.ints(*_TOP_LENGTH[kind]), SIZE)
    dist2 = np.abs(2 * (_X - cx) + 1)
    torso = (dist2 <= 2 * half) & (_Y >= y0) & (_Y < y1)
    if kind == "tshirt":
        sleeve = r.ints(3, 6)
    elif kind == "shirt":  # some shirts have short sleeves, as some real ones do
        sleeve = np.where(r.chance(20), r.ints(4, 8), r.ints(11, 17))
    else:
        sleeve = r.ints(12, 17)
    width = r.ints(3, 5)
    lean = (_Y - y0) * r.ints(0, 4) // 8  # how far the arms hang away from the body
    rows = (_Y >= y0 + 1) & (_Y < y0 + 1 + sleeve)
    left = (_X >= cx - half - width - lean) & (_X < cx - half - lean + 1)
    right = (_X <= cx + half + width + lean - 1) & (_X > cx + half + lean - 2)
    sleeves = rows & (left | right)
    mask = torso | sleeves
    shade = np.zeros((r.n, SIZE, SIZE), dtype=np.int32)
    if kind == "tshirt":
        mask &= ~_ellipse(dist2, _Y - y0, r.ints(2, 4), r.ints(1, 3))  # round neck
        logo = r.chance(40) & _rect(cx - r.ints(2, 4), cx + r.ints(2, 4),
                                    y0 + r.ints(4, 6), y0 + r.ints(8, 11))
        shade += np.where(logo, r.ints(-80, 80), 0)
    elif kind == "pullover":
        mask &= ~_ellipse(dist2, _Y - y0, r.ints(1, 3), r.ints(1, 2))
        ribbed = r.chance(85)
        hem = ribbed & (_Y >= y1 - 2) & (_Y < y1)
        cuffs = ribbed & rows & (_Y >= y0 + sleeve - 1) & ~torso
        shade -= np.where(hem | cuffs, r.ints(30, 70), 0)
    elif kind == "coat":
        depth = r.ints(3, 7)
        mask &= ~((dist2 <= 2 * (y0 + depth - _Y)) & (_Y < y0 + depth))  # V neck
        opening = (dist2 <= 1) & (_Y >= y0)
        shade -= np.where(opening, r.ints(30, 110), 0)
    else:  # shirt: collar notch and a button placket, lighter or darker than the cloth
        mask &= ~((dist2 <= (_Y - y0) // 2 + 1) & (_Y < y0 + r.ints(2, 4)))
        placket = r.chance(90) & (dist2 <= 1) & (_Y > y0 + 1)
        sign = 2 * r.ints(0, 1) - 1
        shade += np.where(placket, sign * r.ints(35, 70), 0)
        buttons = placket & ((_Y - y0) % 3 == 0)
        shade += np.where(buttons, sign * r.ints(30, 70), 0)
    return mask, shade


def _trouser(r: _Sampler) -> tuple[np.ndarray, np.ndarray]:
    cx = 14 + r.ints(-2, 2)
    y0 = 2 + r.ints(-1, 2)
    y1 = np.minimum(y0 + r.ints(22, 25), SIZE)
    half = _lerp(_Y, y0, y1, 0, r.ints(0, 2)) + r.ints(4, 6)  # legs widen a little
    crotch = y0 + r.ints(5, 8)
    gap = np.where(_Y >= crotch, 1 + (_Y - crotch) * r.ints(2, 6) // 16, -1)
    dist2 = np.abs(2 * (_X - cx) + 1)
    mask = (dist2 <= 2 * half) & (dist2 > 2 * gap) & (_Y >= y0) & (_Y < y1)
    belt = mask & (_Y < y0 + 2)
    return mask, np.where(belt, r.ints(-40, 40), 0)


def _dress(r: _Sampler) -> tuple[np.ndarray, np.ndarray]:
    cx = 14 + r.ints(-2, 2)
    y0 = 2 + r.ints(-1, 2)
    y1 = np.minimum(y0 + r.ints(21, 25), SIZE)
    top, waist_y, waist, hem = r.ints(3, 5), y0 + r.ints(5, 9), r.ints(2, 4), r.ints(7, 11)
    half = np.where(_Y < waist_y, _lerp(_Y, y0, waist_y, top, waist),
                    _lerp(_Y, waist_y, y1, waist, hem))
    dist2 = np.abs(2 * (_X - cx) + 1)
    mask = (dist2 <= 2 * half) & (_Y >= y0) & (_Y < y1)
    # Short sleeves on some dresses, as on a top.
    sleeved = r.chance(35) & (_Y >= y0) & (_Y < y0 + r.ints(2, 5))
    mask |= sleeved & (dist2 <= 2 * (top + r.ints(2, 4)))
    belt = r.chance(40) & (_Y == waist_y)
    return mask, np.where(belt, -r.ints(30, 90), 0)


def _shoe(r: _Sampler, heel: tuple[int, int], toe: tuple[int, int]):
    """Side view, toe to the left: height rising from the toe to the heel."""
    ground = 23 + r.ints(-2, 2)
    x0, x1 = 2 + r.ints(-1, 3), 25 + r.ints(-3, 1)
    height = _lerp(_X, x0, x1, r.ints(*toe), r.ints(*heel))
    shape = (_X >= x0) & (_X <= x1) & (_Y > ground - height) & (_Y <= ground)
    return ground, x0, x1, shape


def _sandal(r: _Sampler) -> tuple[np.ndarray, np.ndarray]:
    ground, x0, x1, shape = _shoe(r, heel=(8, 13), toe=(3, 6))
    straps = (_X + _Y + r.ints(0, 4)) % r.ints(3, 5) == 0
    sole = (_X >= x0) & (_X <= x1) & (_Y > ground - r.ints(1, 2)) & (_Y <= ground)
    mask = (shape & straps) | sole
    return mask, np.zeros(mask.shape, dtype=np.int32)


def _sneaker(r: _Sampler) -> tuple[np.ndarray, np.ndarray]:
    ground, _, _, shape = _shoe(r, heel=(9, 13), toe=(4, 7))
    sole = shape & (_Y > ground - r.ints(1, 3))
    laces = r.chance(60) & shape & ((_X + r.ints(0, 2)) % 3 == 0) & (_Y < ground - 3)
    return shape, np.where(sole, r.ints(-60, 60), 0) - np.where(laces, r.ints(20, 70), 0)


def _boot(r: _Sampler) -> tuple[np.ndarray, np.ndarray]:
    ground, x0, x1, foot = _shoe(r, heel=(8, 11), toe=(4, 7))
    shaft = (_X > x1 - r.ints(7, 10)) & (_X <= x1)
    shaft = shaft & (_Y > ground - r.ints(17, 21)) & (_Y <= ground)
    mask = foot | shaft
    heel_gap = r.chance(40) & (_Y > ground - 2) & (_X > x0 + (x1 - x0) // 3)
    mask &= ~(heel_gap & (_X < x1 - r.ints(2, 4)))
    return mask, np.where(shaft & (_Y < ground - 12), r.ints(-50, 50), 0)


def _bag(r: _Sampler) -> tuple[np.ndarray, np.ndarray]:
    cx = 14 + r.ints(-2, 2)
    top = 9 + r.ints(-2, 3)
    bottom = np.minimum(top + r.ints(12, 16), SIZE - 1)
    width = r.ints(7, 11)
    half = _lerp(_Y, top, bottom, width - r.ints(0, 2), width)
    dist2 = np.abs(2 * (_X - cx) + 1)
    body = (dist2 <= 2 * half) & (_Y >= top) & (_Y <= bottom)
    a, b = r.ints(3, 6), r.ints(4, 7)
    ring = _ellipse(dist2, _Y - top, a, b) & ~_ellipse(dist2, _Y - top, a - 2, b - 2)
    handle = r.chance(70) & ring & (_Y < top)
    flap = r.chance(50) & (_Y == top + r.ints(3, 6)) & body
    return body | handle, np.where(flap, -r.ints(30, 90), 0)


# In label order: CLASSES[i] is drawn by _DRAWERS[i].
_DRAWERS = (
    lambda r: _top(r, "tshirt"),
    _trouser,
    lambda r: _top(r, "pullover"),
    _dress,
    lambda r: _top(r, "coat"),
    _sandal,
    lambda r: _top(r, "shirt"),
    _sneaker,
    _bag,
    _boot,
)


def _render(r: _Sampler, mask: np.ndarray, shade: np.ndarray) -> np.ndarray:
    """Fill a class's shapes with cloth: brightness, gradient, noise, stripes, occlusion, blur."""
    value = r.ints(70, 230) + (_Y - 14) * r.ints(-60, 60) // 28 + shade
    value = value + r.pixels(-64, 64) * r.ints(4, 40) // 64  # texture of varying strength
    stripes = r.chance(30) & ((_Y + r.ints(0, 3)) // r.ints(1, 3) % 2 == 0)
    value = value + np.where(stripes, r.ints(-50, 50), 0)
    image = np.where(mask, np.clip(value, 20, 255), 0)
    # A quarter of the images lose a block, which can hide what tells similar classes apart.
    x0, y0 = r.ints(0, 24), r.ints(0, 24)
    hidden = r.chance(25) & _rect(x0, x0 + r.ints(4, 10), y0, y0 + r.ints(4, 10))
    return _blur(np.where(hidden, 0, image))


def _blur(image: np.ndarray) -> np.ndarray:
    """A 3x3 binomial blur in integers: soft edges, like the real (anti-aliased) images."""
    p = np.pad(image, ((0, 0), (1, 1), (1, 1)))
    rows = p[:, :-2, :] + 2 * p[:, 1:-1, :] + p[:, 2:, :]
    return (rows[:, :, :-2] + 2 * rows[:, :, 1:-1] + rows[:, :, 2:] + 8) // 16


def _make_split(seed: int, n: int) -> Split:
    rs = np.random.RandomState(seed)
    per_class = n // len(CLASSES)
    images = []
    for draw in _DRAWERS:
        r = _Sampler(rs, per_class)
        mask, shade = draw(r)
        images.append(_render(r, mask, shade))
    x = np.concatenate(images).astype(np.uint8)  # values are already within 0..255
    y = np.repeat(np.arange(len(CLASSES), dtype=np.uint8), per_class)
    order = rs.permutation(n)
    return x[order], y[order]
