"""Find, verify, load and download MNIST-style datasets.

Layout on disk: ``<data_dir>/<dataset name>/<file>``, where each file may be stored plain or as
``<file>.gz``. Every file is checked against the checksum in its :class:`DatasetSpec` before it
is parsed, so a truncated download or a wrong file is reported by name instead of surfacing as an
odd accuracy in a student's notebook.

A dataset's folder may instead hold its generated stand-in (see :mod:`gpukit_student.data.standin`),
marked by a ``STAND-IN.txt`` file: then the files are checked against the stand-in's checksums,
and loading them says so on stdout. Without the marker, only the official files are accepted.

gpukit never deletes or rewrites a user's files: it reports what is wrong and says what to do.
Downloads go to a hidden temporary file in the target directory and are renamed into place only
once they verify, so an interrupted or bad download leaves nothing behind.
"""

from __future__ import annotations

import http.client
import os
import secrets
import shlex
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from gpukit_student.data.held_back import only_held_back, without_held_back
from gpukit_student.data.idx import decompress, is_gzip, parse_idx
from gpukit_student.data.registry import (
    DATASETS,
    STAND_IN_MARKER,
    STAND_INS,
    DataFile,
    DatasetSpec,
    get_spec,
)
from gpukit_student.errors import DatasetError

ENV_VAR = "GPUKIT_DATA_DIR"
DEFAULT_DATA_DIR = Path("~/.gpukit/data")
#: Seconds to wait for a connection or for the next block of data from a mirror.
DOWNLOAD_TIMEOUT_S = 30.0
_CHUNK_BYTES = 1 << 16

Split = tuple[np.ndarray, np.ndarray]
PathLike = str | os.PathLike[str]

# Verified arrays per (dataset directory, spec), with the stat signature of the files they came
# from: a notebook that loads twice skips the ~55 MB re-hash, and a file replaced on disk is
# noticed because its size/mtime/inode change. Entries are read-only; callers get copies.
_CACHE: dict[tuple[Path, DatasetSpec], tuple[tuple, tuple[np.ndarray, ...]]] = {}
# Folders whose stand-in this process has announced: one line per folder, however many loads.
_ANNOUNCED: set[Path] = set()


@dataclass(frozen=True)
class FileStatus:
    """The result of checking one file of a dataset (see :func:`verify_dataset`)."""

    filename: str
    path: Path  # where the file was found, or where it was expected (plain name) if missing
    present: bool
    ok: bool
    message: str  # "ok", "not found ...", or what is wrong with it
    hint: str | None = None  # what to do when not ok


# --------------------------------------------------------------------------- locating files


def resolve_data_dir(data_dir: PathLike | None = None) -> Path:
    """Return the data directory (absolute).

    Order: the ``data_dir`` argument, else ``$GPUKIT_DATA_DIR``, else ``~/.gpukit/data``.
    """
    if data_dir is None:
        # An empty variable counts as unset, as a shell's `export GPUKIT_DATA_DIR=` suggests.
        data_dir = os.environ.get(ENV_VAR) or DEFAULT_DATA_DIR
    return Path(data_dir).expanduser().resolve()


def resolve_spec(
    name_or_spec: str | DatasetSpec, data_dir: PathLike | None = None
) -> DatasetSpec:
    """Return the spec that the dataset's files in the data directory are checked against.

    That is the dataset's own spec, unless it is a registered dataset whose folder holds
    ``STAND-IN.txt``: then it is the dataset's generated stand-in (such as
    :data:`~gpukit_student.data.registry.FASHION_MNIST_STANDIN`), with its own checksums.
    """
    spec = get_spec(name_or_spec)
    stand_in = STAND_INS.get(spec.name)
    if stand_in is not None and _is_registered(spec):
        if (resolve_data_dir(data_dir) / spec.folder_name / STAND_IN_MARKER).is_file():
            return stand_in
    return spec


def _stands_in_for(spec: DatasetSpec) -> str | None:
    """The name of the dataset that ``spec`` is the generated stand-in of, or None."""
    return next((name for name, stand_in in STAND_INS.items() if stand_in == spec), None)


def _candidates(directory: Path, file: DataFile) -> tuple[Path, Path]:
    """Paths a file may be stored under, best first."""
    plain, gz = directory / file.filename, directory / f"{file.filename}.gz"
    # Prefer the form the checksum covers; for uncompressed checksums the plain file also saves
    # a gunzip.
    return (gz, plain) if file.checksum.of == "compressed" else (plain, gz)


def _locate(directory: Path, file: DataFile) -> Path | None:
    return next((path for path in _candidates(directory, file) if path.is_file()), None)


# --------------------------------------------------------------------------- hints


def _is_registered(spec: DatasetSpec) -> bool:
    # A derived spec that kept a registered name (e.g. tests) cannot be fetched by name.
    return DATASETS.get(spec.name) == spec


def _fetch_command(spec: DatasetSpec, root: Path) -> str | None:
    """The command that puts this spec's files in place, or None if gpukit has none for it."""
    data_dir = f"--data-dir {shlex.quote(str(root))}"
    replaced = _stands_in_for(spec)
    if replaced is not None:
        return f"gpukit-data fetch {replaced} --stand-in {data_dir}"
    if _is_registered(spec):
        return f"gpukit-data fetch {spec.name} {data_dir}"
    return None


def _file_list(files: Iterable[DataFile]) -> str:
    return ", ".join(file.filename for file in files)


def _missing_hint(spec: DatasetSpec, root: Path) -> str:
    ways = []
    command = _fetch_command(spec, root)
    if command is not None:
        ways.append(f"run `{command}`")
    if spec.mirrors:
        ways.append("pass download=True")
    directory = root / spec.folder_name
    replaced = _stands_in_for(spec)
    if replaced is not None:
        ways.append(
            f"to use the real {replaced} instead, delete {directory} and fetch it "
            f"(`gpukit-data fetch {replaced} --data-dir {shlex.quote(str(root))}`)"
        )
    else:
        ways.append(
            f"copy the files ({_file_list(spec.files)}; each plain or .gz) into {directory}"
        )
    return _sentence(", or ".join(ways))


def _sentence(text: str) -> str:
    """Capitalize a hint assembled from parts, and end it with a full stop."""
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def _refetch_hint(spec: DatasetSpec, root: Path, path: Path) -> str:
    command = _fetch_command(spec, root)
    if command is None:
        return f"Delete {path} and put a good copy of it in {path.parent}."
    hint = f"Delete {path} and fetch it again: `{command}`."
    replaced = _stands_in_for(spec)
    if replaced is not None:
        hint += (
            f" If you put the real {replaced} files there, delete {path.parent / STAND_IN_MARKER}"
            " instead, so that they are checked against the official checksums."
        )
    return hint


def _unmarked_stand_in(raw: bytes, file: DataFile, spec: DatasetSpec) -> DatasetSpec | None:
    """The stand-in whose version of ``file`` ``raw`` is, when found without its marker."""
    stand_in = STAND_INS.get(spec.name)
    if stand_in is None or not _is_registered(spec) or file not in spec.files:
        return None
    twin = stand_in.files[spec.files.index(file)]
    try:
        data = decompress(raw)
    except DatasetError:
        return None
    return stand_in if twin.checksum.compute(data) == twin.checksum.hexdigest else None


# --------------------------------------------------------------------------- verifying bytes


def _check_and_parse(raw: bytes, file: DataFile, *, source: str) -> np.ndarray:
    """Verify ``raw`` (a file's bytes, plain or gzip) against ``file``; return its array.

    The checksum is checked before parsing so a damaged file is reported as such, not as a
    confusing header error.
    """
    checksum = file.checksum
    if checksum.of == "compressed":
        if not is_gzip(raw):
            raise DatasetError(
                f"{source} cannot be verified: it is not gzip-compressed, and the published "
                f"checksum for it is the {checksum.describe()} of {file.filename}.gz."
            )
        _compare_checksum(raw, file, source=source)
        data = decompress(raw, source=source)
    else:
        data = decompress(raw, source=source)
        _compare_checksum(data, file, source=source)
    array = parse_idx(data, source=source)
    if array.shape != file.shape:
        raise DatasetError(
            f"{source} holds an array of shape {array.shape}, expected {file.shape}."
        )
    return array


def _compare_checksum(data: bytes, file: DataFile, *, source: str) -> None:
    expected = file.checksum.hexdigest
    actual = file.checksum.compute(data)
    if actual != expected:
        raise DatasetError(
            f"{source} is corrupt: checksum mismatch ({file.checksum.describe()}): "
            f"expected {expected}, got {actual}."
        )


def _load_file(path: Path, file: DataFile, spec: DatasetSpec, root: Path) -> np.ndarray:
    """Read, verify and parse one file; every failure carries the fix for this dataset."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(
            f"Could not read {path}: {exc.strerror or exc}.",
            hint=f"Check that {path} is a readable file.",
        ) from None
    try:
        return _check_and_parse(raw, file, source=str(path))
    except DatasetError as exc:
        stand_in = _unmarked_stand_in(raw, file, spec)
        if stand_in is not None:  # e.g. STAND-IN.txt deleted as if it were a mere readme
            raise DatasetError(
                f"{path} is a file of the generated stand-in of {spec.name}, but "
                f"{STAND_IN_MARKER} is missing from {path.parent}, so it was checked against "
                "the official checksums.",
                hint=f"To keep using the stand-in, run `{_fetch_command(stand_in, root)}` "
                f"(it puts {STAND_IN_MARKER} back); for the real {spec.name}, delete "
                f"{path.parent} and run `{_fetch_command(spec, root)}`.",
            ) from None
        raise DatasetError(exc.message, hint=_refetch_hint(spec, root, path)) from None


# --------------------------------------------------------------------------- public API: verify


def verify_dataset(
    name_or_spec: str | DatasetSpec, data_dir: PathLike | None = None
) -> list[FileStatus]:
    """Check every file of a dataset (presence, checksum, header, shape); never raises for them.

    Returns one :class:`FileStatus` per file, in the order train images, train labels, test
    images, test labels. A folder marked as holding a generated stand-in is checked against the
    stand-in's checksums (see :func:`resolve_spec`).
    """
    root = resolve_data_dir(data_dir)
    spec = resolve_spec(name_or_spec, root)
    directory = root / spec.folder_name
    return [_verify_file(directory, file, spec, root) for file in spec.files]


def _verify_file(
    directory: Path, file: DataFile, spec: DatasetSpec, root: Path
) -> FileStatus:
    path = _locate(directory, file)
    if path is None:
        plain, gz = _candidates(directory, file)
        return FileStatus(
            file.filename,
            directory / file.filename,
            present=False,
            ok=False,
            message=f"not found (looked for {plain.name} and {gz.name} in {directory})",
            hint=_missing_hint(spec, root),
        )
    try:
        _load_file(path, file, spec, root)
    except DatasetError as exc:
        return FileStatus(
            file.filename,
            path,
            present=True,
            ok=False,
            message=exc.message,
            hint=exc.hint,
        )
    return FileStatus(file.filename, path, present=True, ok=True, message="ok")


# --------------------------------------------------------------------------- public API: load


def load_dataset(
    name_or_spec: str | DatasetSpec,
    data_dir: PathLike | None = None,
    *,
    download: bool = False,
    progress: bool = True,
) -> tuple[Split, Split]:
    """Load a dataset as ``((x_train, y_train), (x_test, y_test))`` uint8 arrays.

    The same shapes and dtypes as ``keras.datasets.mnist.load_data()``. Each file is verified
    against its checksum and expected shape first. Missing files raise :class:`DatasetError`
    unless ``download=True``, in which case they are fetched from the dataset's mirrors.
    Results are cached in-process; every call returns fresh, writable copies.

    In a grading kernel, the training split lacks the rows the grader holds back
    (:mod:`gpukit_student.data.held_back`; :func:`load_held_back` returns them).

    A folder marked as holding a generated stand-in is checked against the stand-in's checksums
    (see :func:`resolve_spec`), and the first load from it in a process prints one line saying
    so, on stdout.
    """
    root = resolve_data_dir(data_dir)
    spec = resolve_spec(name_or_spec, root)
    directory = root / spec.folder_name
    paths = [_locate(directory, file) for file in spec.files]
    if None in paths and download:
        fetch_dataset(spec, root, progress=progress)
        paths = [_locate(directory, file) for file in spec.files]
    missing = [file for file, path in zip(spec.files, paths, strict=True) if path is None]
    if missing:
        raise DatasetError(
            f"Dataset {spec.name!r} is incomplete: missing {_file_list(missing)} "
            f"(looked in {directory} for each name, plain or .gz).",
            hint=_missing_hint(spec, root),
        )
    x_train, y_train, x_test, y_test = _verified_arrays(spec, root, paths)
    x_train, y_train = without_held_back(x_train, y_train)
    _announce_stand_in(spec, directory)
    return (x_train.copy(), y_train.copy()), (x_test.copy(), y_test.copy())


def load_held_back(name_or_spec: str | DatasetSpec, data_dir: PathLike | None = None) -> Split:
    """The training rows a grading kernel holds back from the notebook (empty elsewhere), for
    the grader's checks."""
    root = resolve_data_dir(data_dir)
    spec = resolve_spec(name_or_spec, root)
    paths = [_locate(root / spec.folder_name, file) for file in spec.files]
    if None in paths:
        load_dataset(spec, root)  # raises the error that says what is missing
    x_train, y_train, _, _ = _verified_arrays(spec, root, paths)
    x, y = only_held_back(x_train, y_train)
    return x.copy(), y.copy()


def _announce_stand_in(spec: DatasetSpec, directory: Path) -> None:
    """Say once per folder and process that the arrays come from a generated stand-in."""
    replaced = _stands_in_for(spec)
    if replaced is None or directory in _ANNOUNCED:
        return
    _ANNOUNCED.add(directory)
    # stdout, never stderr: nbgrader gives zero points to a test cell that writes to stderr.
    print(
        f"{replaced}: using the generated stand-in in {directory} "
        f"(not the real dataset; see {STAND_IN_MARKER})"
    )


def _verified_arrays(
    spec: DatasetSpec, root: Path, paths: Sequence[Path]
) -> tuple[np.ndarray, ...]:
    """Return the four verified, read-only arrays, from the cache when the files are unchanged."""
    key = (root / spec.folder_name, spec)
    # Taken before reading: if a file changes while we read it, the next call sees a different
    # signature and reloads, so a stale entry is never served.
    signature = _stat_signature(paths)
    cached = _CACHE.get(key)
    if cached is not None and cached[0] == signature:
        return cached[1]
    arrays = tuple(
        _load_file(path, file, spec, root) for path, file in zip(paths, spec.files, strict=True)
    )
    for array in arrays:
        array.flags.writeable = False
    _CACHE[key] = (signature, arrays)  # reached only when all four files verified
    return arrays


def _stat_signature(paths: Sequence[Path]) -> tuple:
    stats = [path.stat() for path in paths]
    return tuple(
        (str(p), s.st_size, s.st_mtime_ns, s.st_ino) for p, s in zip(paths, stats, strict=True)
    )


def clear_cache() -> None:
    """Forget all cached arrays (the next load re-reads and re-verifies the files)."""
    _CACHE.clear()


def load_mnist(
    data_dir: PathLike | None = None, *, download: bool = False
) -> tuple[Split, Split]:
    """Load MNIST; see :func:`load_dataset`."""
    return load_dataset("mnist", data_dir, download=download)


def load_fashion_mnist(
    data_dir: PathLike | None = None, *, download: bool = False
) -> tuple[Split, Split]:
    """Load Fashion-MNIST, or its generated stand-in if STAND-IN.txt marks the folder.

    See :func:`load_dataset`; the stand-in is written by
    :func:`gpukit_student.data.write_fashion_standin`.
    """
    return load_dataset("fashion-mnist", data_dir, download=download)


# --------------------------------------------------------------------------- public API: fetch


class _MirrorFailed(Exception):
    """One mirror did not deliver a file; ``unreachable`` means we never got a response."""

    def __init__(self, reason: str, *, unreachable: bool):
        super().__init__(reason)
        self.reason = reason
        self.unreachable = unreachable


def fetch_dataset(
    name_or_spec: str | DatasetSpec,
    data_dir: PathLike | None = None,
    *,
    progress: bool = True,
    base_urls: Sequence[str] | None = None,
    timeout: float = DOWNLOAD_TIMEOUT_S,
) -> Path:
    """Download the files of a dataset that are missing; return the dataset's directory.

    Each missing file is fetched as ``<base url><file>.gz`` from ``base_urls`` (default: the
    spec's mirrors), trying them in order, and is stored as ``<file>.gz`` only once it verifies.
    Files already present and valid are left alone. A present but corrupt file raises
    :class:`DatasetError` before anything is downloaded (gpukit does not delete your files).
    A folder marked as holding a generated stand-in is checked as such and never downloaded
    into: the stand-in is written by :func:`gpukit_student.data.write_fashion_standin`.
    """
    root = resolve_data_dir(data_dir)
    spec = resolve_spec(name_or_spec, root)
    directory = root / spec.folder_name
    statuses = verify_dataset(spec, root)
    _refuse_corrupt(spec, statuses)
    missing = [file for file, status in zip(spec.files, statuses, strict=True)
               if not status.present]
    if not missing:
        return directory
    if _stands_in_for(spec) is not None:
        raise DatasetError(
            f"{directory} holds {STAND_IN_MARKER}, so it is meant for the {spec.name}, but it "
            f"misses {_file_list(missing)}; a stand-in is generated, not downloaded.",
            hint=_missing_hint(spec, root),
        )
    urls = tuple(spec.mirrors if base_urls is None else base_urls)
    if not urls:
        raise DatasetError(
            f"No download mirror is known for dataset {spec.name!r}.",
            hint=_sentence(_copy_by_hand(spec, root, missing)),
        )
    _make_dir(directory)
    for file in missing:
        _fetch_file(file, spec, root, urls, progress=progress, timeout=timeout)
    return directory


def _refuse_corrupt(spec: DatasetSpec, statuses: Sequence[FileStatus]) -> None:
    bad = [status for status in statuses if status.present and not status.ok]
    if bad:
        details = "\n  ".join(status.message for status in bad)
        paths = " ".join(shlex.quote(str(status.path)) for status in bad)
        raise DatasetError(
            f"Dataset {spec.name!r} has files that are present but invalid:\n  {details}",
            hint=f"Delete them (rm {paths}) and fetch again; gpukit never deletes files itself.",
        )


def _copy_by_hand(spec: DatasetSpec, root: Path, files: Sequence[DataFile]) -> str:
    check = (
        f"`gpukit-data verify {spec.name} --data-dir {shlex.quote(str(root))}`"
        if _is_registered(spec)
        else "gpukit_student.data.verify_dataset()"
    )
    return (
        f"copy the files {_file_list(files)} (each plain or .gz, e.g. from a machine that is "
        f"online) by hand into {root / spec.folder_name}, then check them with {check}."
    )


def _make_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(
            f"Cannot create the data directory {directory}: {exc.strerror or exc}.",
            hint=f"Pass a writable --data-dir (or data_dir=...), or set {ENV_VAR}.",
        ) from None


def _fetch_file(
    file: DataFile,
    spec: DatasetSpec,
    root: Path,
    urls: Sequence[str],
    *,
    progress: bool,
    timeout: float,
) -> Path:
    """Download one file from the first mirror that delivers verified bytes."""
    target = root / spec.folder_name / f"{file.filename}.gz"
    failures: list[str] = []
    all_unreachable = True
    for base in urls:
        url = f"{base.rstrip('/')}/{file.filename}.gz"
        try:
            _download_verified(url, target, file, progress=progress, timeout=timeout)
            return target
        except _MirrorFailed as exc:
            failures.append(f"{url}: {exc.reason}")
            all_unreachable = all_unreachable and exc.unreachable
        except DatasetError as exc:  # downloaded, but the bytes did not verify
            failures.append(f"{url}: {exc.message}")
            all_unreachable = False
    tried = "\n  ".join(failures)
    if all_unreachable:
        raise DatasetError(
            f"Could not download {spec.name!r}: no mirror could be reached, this machine seems "
            f"to be offline. Tried:\n  {tried}",
            hint=_sentence(_copy_by_hand(spec, root, spec.files)),
        )
    raise DatasetError(
        f"Could not download a valid {file.filename}.gz from any mirror of {spec.name!r}. "
        f"Nothing was written to {target.parent}. Tried:\n  {tried}",
        hint=_sentence("try again later, or " + _copy_by_hand(spec, root, [file])),
    )


def _download_verified(
    url: str, target: Path, file: DataFile, *, progress: bool, timeout: float
) -> None:
    """Download ``url`` to a temporary file beside ``target``; rename it there once it verifies."""
    with staged_file(target) as tmp:
        with open(tmp, "xb") as out:
            _stream(url, out, label=target.name, progress=progress, timeout=timeout)
        # Network errors were already turned into _MirrorFailed: an OSError here is the disk.
        _check_and_parse(tmp.read_bytes(), file, source=url)


@contextmanager
def staged_file(target: Path) -> Iterator[Path]:
    """A hidden temporary path beside ``target``, renamed onto it when the block succeeds and
    removed otherwise (failures, Ctrl-C, checksum mismatches); disk errors become DatasetError.
    """
    # Our own name (not mkstemp) so the file gets the usual umask permissions, which matters for
    # a data directory shared with students. The leading dot keeps it out of casual listings.
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        raise DatasetError(
            f"Could not write {target}: {exc.strerror or exc}.",
            hint=f"Check the free space and permissions of {target.parent}, "
            "or pick another --data-dir.",
        ) from None
    finally:
        tmp.unlink(missing_ok=True)  # a no-op after the rename


def _stream(
    url: str, out: BinaryIO, *, label: str, progress: bool, timeout: float
) -> None:
    """Copy the body of ``url`` into ``out`` with a progress bar on stderr."""
    response = _open_url(url, timeout)
    with (
        response,
        _progress_bar(getattr(response, "length", None), label, progress) as bar,
    ):
        while chunk := _read_chunk(response):
            out.write(chunk)
            bar.update(len(chunk))


class _NoProgressBar:
    """Stands in for tqdm where it is not installed: downloads work, silently."""

    def __enter__(self) -> _NoProgressBar:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def update(self, _: int) -> None:
        return None


def _progress_bar(total: int | None, label: str, enabled: bool):
    """A byte-counting progress bar on stderr (tqdm, an optional dependency of the runtime)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoProgressBar()
    return tqdm(total=total,  # None: the server sent no size
                unit="B", unit_scale=True, unit_divisor=1024, desc=label, disable=not enabled,
                file=sys.stderr)


def _open_url(url: str, timeout: float) -> http.client.HTTPResponse:
    try:
        return urllib.request.urlopen(url, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()  # the server answered, so we are online: not an "unreachable" failure
        raise _MirrorFailed(
            f"HTTP {exc.code} {exc.reason}", unreachable=False
        ) from None
    except ValueError as exc:
        # A malformed URL is a configuration error, not a sign of being offline.
        raise _MirrorFailed(f"invalid URL ({exc})", unreachable=False) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise _MirrorFailed(_network_reason(exc), unreachable=True) from None


def _read_chunk(response: http.client.HTTPResponse) -> bytes:
    try:
        return response.read(_CHUNK_BYTES)
    except (http.client.HTTPException, OSError) as exc:
        raise _MirrorFailed(
            f"download interrupted ({_network_reason(exc)})", unreachable=False
        ) from None


def _network_reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    if isinstance(reason, TimeoutError):
        return "timed out"
    return str(reason) or type(reason).__name__
