"""Tests for gpukit_student.data: IDX files, the dataset registry, loading, downloading and the CLI.

Three tiers:
* real: the real MNIST in ../shared/data beside the repository (skipped if absent, except in CI);
* generated: small IDX datasets written into tmp_path with specs carrying their own checksums;
* download: the generated files served by a local HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.server
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from gpukit.errors import DatasetError
from gpukit_student.data import (
    DATASETS,
    Checksum,
    DatasetSpec,
    clear_cache,
    derive_spec,
    fetch_dataset,
    held_back,
    load_dataset,
    load_held_back,
    load_mnist,
    loader,
    resolve_data_dir,
    verify_dataset,
)
from gpukit_student.data.cli import add_data_commands, run_data_command
from gpukit_student.data.idx import encode_idx, read_idx, write_idx
from gpukit_student.data.registry import FASHION_MNIST, MNIST, ROLES

REAL_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# Published class frequencies of the MNIST test set (digits 0..9).
MNIST_TEST_CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
FILENAMES = [file.filename for file in MNIST.files]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with an empty cache, no data-dir variable, and no proxy for loopback."""
    clear_cache()
    monkeypatch.delenv("GPUKIT_DATA_DIR", raising=False)
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    yield
    clear_cache()


# --------------------------------------------------------------------------- helpers


def make_arrays(
    seed: int = 0, n_train: int = 50, n_test: int = 20
) -> dict[str, np.ndarray]:
    """Small random MNIST-shaped arrays keyed by role."""
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_files(
    directory: Path, arrays: dict[str, np.ndarray], *, gz: bool
) -> dict[str, Path]:
    """Write arrays under MNIST's file names; return the paths by role."""
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    return {
        role: write_idx(directory / f"{file.filename}{suffix}", arrays[role])
        for role, file in zip(ROLES, MNIST.files, strict=True)
    }


def spec_for(
    arrays: dict[str, np.ndarray], *, mirrors: tuple[str, ...] = ()
) -> DatasetSpec:
    """A spec named "mnist" whose shapes and sha256s (of the uncompressed bytes) fit ``arrays``."""
    return derive_spec(
        MNIST,
        shapes={role: array.shape for role, array in arrays.items()},
        checksums={
            role: Checksum.of_bytes(encode_idx(array)) for role, array in arrays.items()
        },
        mirrors=mirrors,
    )


def md5_of_files(paths: dict[str, Path]) -> dict[str, Checksum]:
    """Checksums of the stored (compressed) bytes, the way Fashion-MNIST publishes them."""
    return {
        role: Checksum.of_bytes(path.read_bytes(), algorithm="md5", of="compressed")
        for role, path in paths.items()
    }


def assert_loaded(result: object, arrays: dict[str, np.ndarray]) -> None:
    (x_train, y_train), (x_test, y_test) = result  # type: ignore[misc]
    for got, role in zip((x_train, y_train, x_test, y_test), ROLES, strict=True):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[role])


def listing(directory: Path) -> list[str]:
    """All names in a directory, hidden ones included (temporary files start with a dot)."""
    return sorted(os.listdir(directory)) if directory.exists() else []


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, DatasetSpec, dict[str, np.ndarray]]:
    """A generated dataset stored plain: (data root, its spec, the arrays)."""
    arrays = make_arrays()
    root = tmp_path / "data"
    write_files(root / "mnist", arrays, gz=False)
    return root, spec_for(arrays), arrays


# --------------------------------------------------------------------------- real tier


@pytest.fixture(scope="module")
def real_data_dir() -> Path:
    if not (REAL_DATA_DIR / "mnist").is_dir():
        reason = f"the real MNIST files are not in {REAL_DATA_DIR / 'mnist'}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI is set: CI must run the real-data tests")
        pytest.skip(reason)
    return REAL_DATA_DIR


def test_real_mnist_loads_like_keras(real_data_dir: Path) -> None:
    (x_train, y_train), (x_test, y_test) = load_mnist(real_data_dir)

    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert set(np.unique(y_train)) == set(range(10)) == set(np.unique(y_test))
    assert x_train.min() == 0 and x_train.max() == 255
    counts = np.bincount(y_test, minlength=10)
    assert counts.sum() == 10000
    assert counts.tolist() == MNIST_TEST_CLASS_COUNTS


def test_real_mnist_verifies(real_data_dir: Path) -> None:
    statuses = verify_dataset("mnist", real_data_dir)
    assert [s.filename for s in statuses] == FILENAMES
    assert all(s.present and s.ok for s in statuses), statuses


def test_second_load_is_cached_and_returns_independent_copies(
    real_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (x_first, _), _ = load_mnist(real_data_dir)
    # A notebook scribbling on its copy must not affect the next load.
    x_first[0, 0, 0] = 77

    calls: list[Path] = []
    original = loader._load_file

    def counting_load_file(path: Path, *args: object) -> np.ndarray:
        calls.append(path)
        return original(path, *args)

    monkeypatch.setattr(loader, "_load_file", counting_load_file)
    (x_second, _), _ = load_mnist(real_data_dir)

    assert calls == []  # served from the cache: no re-read, no re-hash
    assert x_second.flags.writeable and not np.shares_memory(x_first, x_second)
    assert x_second[0, 0, 0] == 0


def test_a_grading_kernel_holds_back_training_rows(
    real_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notebook's training split lacks the held-back rows; the grader gets exactly them."""
    (x_all, y_all), (x_test, _) = load_mnist(real_data_dir)
    assert len(load_held_back("mnist", real_data_dir)[0]) == 0  # nothing held back by default
    monkeypatch.setattr(held_back._STATE, "seed", 1234)

    (x_train, y_train), (x_test_again, _) = load_mnist(real_data_dir)
    x_held, y_held = load_held_back("mnist", real_data_dir)

    assert len(x_train) == 55000 and len(x_held) == 5000 and len(y_held) == 5000
    assert np.array_equal(x_test_again, x_test)  # the test set is whole
    rows = held_back.held_back_rows(60000)
    assert np.array_equal(x_held, x_all[rows]) and np.array_equal(y_held, y_all[rows])
    kept = np.setdiff1d(np.arange(60000), rows)
    assert np.array_equal(x_train, x_all[kept]) and np.array_equal(y_train, y_all[kept])
    held_back.hold_back_training_rows(99)  # another seed, another slice (monkeypatch undoes it)
    assert not np.array_equal(held_back.held_back_rows(60000), rows)


def test_a_small_training_split_keeps_most_of_its_rows(
    tiny: tuple[Path, DatasetSpec, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, spec, arrays = tiny
    monkeypatch.setattr(held_back._STATE, "seed", 7)
    (x_train, _), _ = load_dataset(spec, root)
    assert len(x_train) == 50 - 5  # a tenth of 50


# --------------------------------------------------------------------------- IDX format


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
)
def test_idx_round_trip(tmp_path: Path, dtype: type) -> None:
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    for name in ("a.idx", "a.idx.gz"):
        result = read_idx(write_idx(tmp_path / name, array))
        assert result.dtype == np.dtype(dtype) and result.dtype.isnative
        np.testing.assert_array_equal(result, array)


def test_write_idx_gz_is_reproducible(tmp_path: Path) -> None:
    array = make_arrays()["train_labels"]
    first = write_idx(tmp_path / "a.gz", array).read_bytes()
    assert first[:2] == b"\x1f\x8b"
    assert write_idx(tmp_path / "b.gz", array).read_bytes() == first  # stable checksums


def test_idx_header_layout() -> None:
    data = encode_idx(np.zeros((3, 2), dtype=np.uint8))
    assert data == bytes([0, 0, 0x08, 2, 0, 0, 0, 3, 0, 0, 0, 2]) + bytes(6)


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (b"\x12\x34\x08\x01\x00\x00\x00\x02ab", "magic"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x02ab", "type code 0x07"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05ab", "truncated"),
        # More payload than the header declares is just as wrong as less.
        (b"\x00\x00\x08\x01\x00\x00\x00\x01ab", "truncated"),
        (b"\x00\x00\x08\x03\x00\x00", "ends inside"),
        (b"\x00\x00", "too short"),
    ],
)
def test_idx_rejects_bad_header(tmp_path: Path, payload: bytes, needle: str) -> None:
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(payload)
    with pytest.raises(DatasetError) as err:
        read_idx(path)
    assert needle in str(err.value)
    assert str(path) in str(err.value)


def test_idx_rejects_truncated_gzip(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "x.gz", make_arrays()["train_images"])
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match="not a valid gzip file"):
        read_idx(path)


def test_encode_idx_rejects_unsupported_dtype() -> None:
    with pytest.raises(ValueError, match="uint16"):
        encode_idx(np.zeros(3, dtype=np.uint16))


# --------------------------------------------------------------------------- registry


def test_registry_describes_both_datasets() -> None:
    assert set(DATASETS) == {"mnist", "fashion-mnist"}
    for spec in DATASETS.values():
        assert [f.filename for f in spec.files] == FILENAMES
        assert [f.shape for f in spec.files] == [
            (60000, 28, 28),
            (60000,),
            (10000, 28, 28),
            (10000,),
        ]
        assert spec.mirrors
    assert {(f.checksum.algorithm, f.checksum.of) for f in MNIST.files} == {
        ("sha256", "uncompressed")
    }
    assert {(f.checksum.algorithm, f.checksum.of) for f in FASHION_MNIST.files} == {
        ("md5", "compressed")
    }


def test_checksum_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="algorithm"):
        Checksum(algorithm="crc32", of="uncompressed", hexdigest="00")
    with pytest.raises(ValueError, match="compressed"):
        Checksum(algorithm="md5", of="gz", hexdigest="00")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hex"):
        Checksum(algorithm="md5", of="compressed", hexdigest="ABC")


def test_derive_spec_replaces_only_what_it_is_given() -> None:
    checksum = Checksum.of_bytes(b"x")
    spec = derive_spec(
        MNIST,
        name="tiny",
        shapes={"train_labels": (5,)},
        checksums={"test_labels": checksum},
    )
    assert spec.name == "tiny" and spec.mirrors == MNIST.mirrors
    assert spec.train_labels.shape == (5,)
    assert spec.train_labels.checksum == MNIST.train_labels.checksum
    assert spec.test_labels.checksum == checksum
    assert spec.test_images == MNIST.test_images
    with pytest.raises(ValueError, match="unknown roles"):
        derive_spec(MNIST, shapes={"labels": (1,)})


def test_unknown_dataset_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="fashion-mnist, mnist"):
        load_dataset("cifar10", tmp_path)


# --------------------------------------------------------------------------- generated tier: load


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_load_generated_dataset(tmp_path: Path, gz: bool) -> None:
    arrays = make_arrays()
    write_files(tmp_path / "mnist", arrays, gz=gz)
    result = load_dataset(spec_for(arrays), tmp_path)
    assert_loaded(result, arrays)
    assert result[0][0].flags.writeable


def test_load_with_checksum_of_the_compressed_file(tmp_path: Path) -> None:
    arrays = make_arrays()
    paths = write_files(tmp_path / "mnist", arrays, gz=True)
    spec = derive_spec(spec_for(arrays), checksums=md5_of_files(paths))
    assert_loaded(load_dataset(spec, tmp_path), arrays)


def test_compressed_checksum_cannot_verify_a_plain_file(tmp_path: Path) -> None:
    arrays = make_arrays()
    paths = write_files(tmp_path / "mnist", arrays, gz=False)
    # Checksums "of the compressed file", as Fashion-MNIST publishes, beside plain files.
    spec = derive_spec(spec_for(arrays), checksums=md5_of_files(paths))
    with pytest.raises(DatasetError, match="cannot be verified"):
        load_dataset(spec, tmp_path)


@pytest.mark.parametrize("gz", [False, True], ids=["plain-sha256", "gz-md5"])
def test_corrupt_byte_is_reported_and_file_left_alone(tmp_path: Path, gz: bool) -> None:
    arrays = make_arrays()
    paths = write_files(tmp_path / "mnist", arrays, gz=gz)
    spec = spec_for(arrays)
    if gz:  # a checksum of the .gz bytes catches the damage before gunzip would
        spec = derive_spec(spec, checksums=md5_of_files(paths))
    victim = paths["train_labels"]
    damaged = bytearray(victim.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    victim.write_bytes(bytes(damaged))

    with pytest.raises(DatasetError) as err:
        load_dataset(spec, tmp_path)

    message = str(err.value)
    assert victim.name in message and "checksum" in message
    assert spec.train_labels.checksum.hexdigest in message  # expected vs actual digest
    assert f"Delete {victim}" in message
    assert victim.read_bytes() == bytes(damaged)  # never modified or deleted


def test_missing_files_name_the_files_and_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as err:
        load_mnist(tmp_path)
    message = str(err.value)
    assert all(name in message for name in FILENAMES)
    assert str(tmp_path / "mnist") in message
    assert f"gpukit-data fetch mnist --data-dir {tmp_path}" in message
    assert "download=True" in message


def test_only_the_missing_file_is_named(tiny: tuple[Path, DatasetSpec, dict]) -> None:
    root, spec, _ = tiny
    (root / "mnist" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(
        DatasetError, match=r"missing t10k-labels-idx1-ubyte \(looked in"
    ) as err:
        load_dataset(spec, root)
    assert "train-labels-idx1-ubyte" not in err.value.message


def test_truncated_file_with_matching_checksum_is_rejected(tmp_path: Path) -> None:
    # The checksum alone would pass, so this proves the IDX header is checked as well.
    arrays = make_arrays()
    paths = write_files(tmp_path / "mnist", arrays, gz=False)
    truncated = paths["test_images"].read_bytes()[:-28]
    paths["test_images"].write_bytes(truncated)
    spec = derive_spec(
        spec_for(arrays), checksums={"test_images": Checksum.of_bytes(truncated)}
    )
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte.*truncated"):
        load_dataset(spec, tmp_path)


def test_bad_magic_with_matching_checksum_is_rejected(tmp_path: Path) -> None:
    arrays = make_arrays()
    paths = write_files(tmp_path / "mnist", arrays, gz=False)
    bad = b"\x08\x03" + paths["train_images"].read_bytes()[2:]
    paths["train_images"].write_bytes(bad)
    spec = derive_spec(
        spec_for(arrays), checksums={"train_images": Checksum.of_bytes(bad)}
    )
    with pytest.raises(
        DatasetError, match="train-images-idx3-ubyte is not an IDX file: bad magic"
    ):
        load_dataset(spec, tmp_path)


def test_shape_is_checked_against_the_spec(
    tiny: tuple[Path, DatasetSpec, dict],
) -> None:
    root, spec, _ = tiny
    with pytest.raises(DatasetError, match=r"shape \(50,\), expected \(60000,\)"):
        load_dataset(derive_spec(spec, shapes={"train_labels": (60000,)}), root)


def test_replaced_file_is_noticed_despite_the_cache(
    tiny: tuple[Path, DatasetSpec, dict],
) -> None:
    root, spec, _ = tiny
    load_dataset(spec, root)
    path = root / "mnist" / "train-labels-idx1-ubyte"
    path.unlink()
    write_idx(path, np.zeros(50, dtype=np.uint8))  # a new file: new inode and mtime
    with pytest.raises(DatasetError, match="checksum"):
        load_dataset(spec, root)


def test_data_dir_comes_from_argument_then_env_then_home(
    tiny: tuple[Path, DatasetSpec, dict],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    root, spec, arrays = tiny
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_data_dir() == tmp_path / "home" / ".gpukit" / "data"

    monkeypatch.setenv("GPUKIT_DATA_DIR", str(root))
    assert resolve_data_dir() == root
    assert resolve_data_dir(tmp_path / "other") == tmp_path / "other"
    assert_loaded(load_dataset(spec), arrays)  # no data_dir: the variable is honoured


# --------------------------------------------------------------------------- download tier


Serve = Callable[[Path], tuple[str, list[str]]]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start HTTP servers on 127.0.0.1 serving a directory; return (base URL, request paths)."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(directory: Path) -> tuple[str, list[str]]:
        requests: list[str] = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, directory=str(directory), **kwargs)

            def do_GET(self) -> None:
                requests.append(self.path)
                super().do_GET()

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep the test output clean

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval keeps shutdown() (which waits for the next poll) fast.
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/", requests

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def mirror(tmp_path: Path, serve: Serve) -> tuple[str, list[str], DatasetSpec, dict]:
    """A local mirror of a generated dataset: (base URL, request log, spec, arrays)."""
    arrays = make_arrays(seed=1)
    write_files(tmp_path / "mirror", arrays, gz=True)
    url, requests = serve(tmp_path / "mirror")
    return url, requests, spec_for(arrays), arrays


def test_fetch_downloads_and_verifies(
    tmp_path: Path, mirror: tuple, capsys: pytest.CaptureFixture[str]
) -> None:
    url, requests, spec, arrays = mirror
    root = tmp_path / "data"

    directory = fetch_dataset(spec, root, base_urls=[url], progress=True)

    assert directory == root / "mnist"
    # Exactly the four files: no temporary leftovers.
    assert listing(directory) == sorted(f"{name}.gz" for name in FILENAMES)
    assert sorted(requests) == sorted(f"/{name}.gz" for name in FILENAMES)
    assert all(s.ok for s in verify_dataset(spec, root))
    assert_loaded(load_dataset(spec, root), arrays)
    # tqdm's progress bar goes to stderr.
    assert "train-images-idx3-ubyte.gz" in capsys.readouterr().err


def test_fetch_without_progress_is_silent(
    tmp_path: Path, mirror: tuple, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _, spec, _ = mirror
    fetch_dataset(spec, tmp_path, base_urls=[url], progress=False)
    assert capsys.readouterr() == ("", "")


def test_fetch_skips_files_already_present_and_valid(
    tmp_path: Path, mirror: tuple
) -> None:
    url, requests, spec, arrays = mirror
    directory = tmp_path / "mnist"
    directory.mkdir()
    write_idx(directory / "train-images-idx3-ubyte", arrays["train_images"])
    write_idx(directory / "t10k-labels-idx1-ubyte.gz", arrays["test_labels"])

    fetch_dataset(spec, tmp_path, base_urls=[url], progress=False)
    assert sorted(requests) == [
        "/t10k-images-idx3-ubyte.gz",
        "/train-labels-idx1-ubyte.gz",
    ]

    fetch_dataset(spec, tmp_path, base_urls=[url], progress=False)
    assert len(requests) == 2  # everything present and valid: no request at all


def test_fetch_rejects_wrong_bytes_and_leaves_nothing(
    tmp_path: Path, serve: Serve, mirror: tuple
) -> None:
    _, _, spec, _ = mirror
    # Same file names, other contents.
    write_files(tmp_path / "wrong", make_arrays(seed=2), gz=True)
    wrong_url, requests = serve(tmp_path / "wrong")
    root = tmp_path / "data"

    with pytest.raises(DatasetError) as err:
        fetch_dataset(spec, root, base_urls=[wrong_url], progress=False)

    assert "checksum" in str(err.value) and "offline" not in str(err.value)
    assert requests  # it did download, then refused the bytes
    assert listing(root / "mnist") == []


def test_fetch_falls_back_to_the_next_mirror(
    tmp_path: Path, serve: Serve, mirror: tuple
) -> None:
    url, requests, spec, arrays = mirror
    write_files(tmp_path / "wrong", make_arrays(seed=2), gz=True)
    wrong_url, wrong_requests = serve(tmp_path / "wrong")
    (tmp_path / "empty").mkdir()
    empty_url, empty_requests = serve(tmp_path / "empty")  # 404 for everything

    fetch_dataset(
        spec,
        tmp_path,
        base_urls=["http://127.0.0.1:1/", empty_url, wrong_url, url],
        progress=False,
    )

    assert len(wrong_requests) == len(empty_requests) == len(requests) == 4
    assert_loaded(load_dataset(spec, tmp_path), arrays)


def test_interrupted_download_leaves_nothing(
    tmp_path: Path, mirror: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _, spec, _ = mirror
    real_read = loader._read_chunk
    reads: list[int] = []

    def read_then_interrupt(response: object) -> bytes:
        reads.append(1)
        if len(reads) > 1:  # after some bytes were written to the temporary file
            raise KeyboardInterrupt
        return real_read(response)

    monkeypatch.setattr(loader, "_read_chunk", read_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        fetch_dataset(spec, tmp_path, base_urls=[url], progress=False)
    assert listing(tmp_path / "mnist") == []


def test_fetch_times_out_on_a_silent_server(tmp_path: Path, mirror: tuple) -> None:
    _, _, spec, _ = mirror
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with pytest.raises(DatasetError, match="timed out") as err:
            fetch_dataset(spec, tmp_path, base_urls=[url], progress=False, timeout=0.3)
    assert "offline" in str(err.value)
    assert listing(tmp_path / "mnist") == []


def test_fetch_from_unreachable_mirror_says_offline(
    tmp_path: Path, mirror: tuple
) -> None:
    _, _, spec, _ = mirror
    with pytest.raises(DatasetError) as err:
        fetch_dataset(
            spec, tmp_path, base_urls=["http://127.0.0.1:1/"], progress=False, timeout=5
        )
    message = str(err.value)
    assert "offline" in message
    assert all(name in message for name in FILENAMES)  # what to copy by hand ...
    assert str(tmp_path / "mnist") in message  # ... and where to
    assert listing(tmp_path / "mnist") == []


def test_fetch_reports_http_errors(tmp_path: Path, serve: Serve, mirror: tuple) -> None:
    _, _, spec, _ = mirror
    empty_url, _ = serve(tmp_path)  # serves tmp_path, which has no .gz files at its top
    with pytest.raises(DatasetError, match="HTTP 404") as err:
        fetch_dataset(spec, tmp_path / "data", base_urls=[empty_url], progress=False)
    assert "offline" not in str(err.value)


def test_fetch_refuses_to_touch_a_corrupt_file(tiny: tuple, mirror: tuple) -> None:
    root, _, _ = tiny
    url, requests, spec, _ = mirror  # the mirror's checksums do not match tiny's files
    before = (root / "mnist" / "train-images-idx3-ubyte").read_bytes()
    with pytest.raises(DatasetError, match="present but invalid") as err:
        fetch_dataset(spec, root, base_urls=[url], progress=False)
    assert "Delete them" in str(err.value)
    assert requests == []
    assert (root / "mnist" / "train-images-idx3-ubyte").read_bytes() == before


def test_fetch_without_mirrors_explains_how_to_copy(tmp_path: Path) -> None:
    spec = spec_for(make_arrays())  # no mirrors
    with pytest.raises(DatasetError, match="No download mirror") as err:
        fetch_dataset(spec, tmp_path, progress=False)
    assert "copy the files" in str(err.value).lower()


def test_load_with_download_fetches_missing_files(
    tmp_path: Path, mirror: tuple
) -> None:
    url, requests, spec, arrays = mirror
    spec = derive_spec(spec, mirrors=[url])
    assert_loaded(load_dataset(spec, tmp_path, download=True, progress=False), arrays)
    assert len(requests) == 4


# --------------------------------------------------------------------------- CLI


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gpukit")
    add_data_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    assert args.func is run_data_command
    return args.func(args)


def test_cli_verify_ok(
    tiny: tuple, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root, spec, _ = tiny
    monkeypatch.setitem(DATASETS, "mnist", spec)
    assert run_cli(["data", "verify", "mnist", "--data-dir", str(root)]) == 0
    out = capsys.readouterr().out
    for name in FILENAMES:
        assert f"ok       {name}" in out
    assert "All 4 files are present and valid." in out


def test_cli_verify_reports_corrupt_and_missing_files(
    tiny: tuple, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root, spec, _ = tiny
    monkeypatch.setitem(DATASETS, "mnist", spec)
    labels = root / "mnist" / "train-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-1] + b"\x63")
    (root / "mnist" / "t10k-labels-idx1-ubyte").unlink()

    assert run_cli(["data", "verify", "mnist", "--data-dir", str(root)]) == 1

    out = capsys.readouterr().out
    assert "INVALID  train-labels-idx1-ubyte" in out and "checksum mismatch" in out
    assert "MISSING  t10k-labels-idx1-ubyte: not found" in out
    assert "2 of 4 files are missing or invalid." in out
    assert f"What to do: Delete {labels}" in out
    assert "gpukit-data fetch mnist --data-dir" in out


def test_cli_fetch(
    tmp_path: Path,
    mirror: tuple,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, requests, spec, _ = mirror
    monkeypatch.setitem(DATASETS, "mnist", derive_spec(spec, mirrors=[url]))
    argv = [
        "data",
        "fetch",
        "mnist",
        "--data-dir",
        str(tmp_path / "d"),
        "--no-progress",
    ]
    assert run_cli(argv) == 0
    captured = capsys.readouterr()
    assert f"mnist is ready in {tmp_path / 'd' / 'mnist'}" in captured.out
    assert captured.err == "" and len(requests) == 4


def test_cli_errors_go_to_stderr_with_exit_code_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["data", "fetch", "cifar10", "--data-dir", str(tmp_path)]) == 1
    assert "Unknown dataset 'cifar10'" in capsys.readouterr().err


def test_cli_help_describes_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["data", "fetch", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for text in ("--no-progress", "--data-dir", "GPUKIT_DATA_DIR", "fashion-mnist"):
        assert text in out
