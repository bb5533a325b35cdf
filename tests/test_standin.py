"""Tests for the generated Fashion-MNIST stand-in: generator, writer, loading, verify and CLI.

The generator's output is pinned by the sha256 digests in the registry, so a change to the drawing
code, or a platform or numpy version on which it gives other bytes, fails here first. How hard the
stand-in is to learn is measured by bench/standin_difficulty.py, not here (it trains networks).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from gpukit.errors import DatasetError
from gpukit_student.data import (
    FASHION_MNIST_STANDIN,
    clear_cache,
    load_dataset,
    load_fashion_mnist,
    resolve_spec,
    standin,
    verify_dataset,
    write_fashion_standin,
)
from gpukit_student.data.cli import add_data_commands
from gpukit_student.data.idx import encode_idx, write_idx
from gpukit_student.data.registry import DATASETS, FASHION_MNIST, STAND_IN_MARKER, STAND_INS

FILENAMES = [file.filename for file in FASHION_MNIST.files]
Generated = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    clear_cache()
    monkeypatch.delenv("GPUKIT_DATA_DIR", raising=False)
    yield
    clear_cache()


@pytest.fixture(scope="module")
def generated() -> Generated:
    """The stand-in, generated once for the module (about half a second)."""
    return standin.generate_fashion_standin()


@pytest.fixture
def fast_generator(generated: Generated, monkeypatch: pytest.MonkeyPatch) -> Generated:
    """Make write_fashion_standin reuse the module's arrays instead of drawing them again.

    Safe because test_generator_matches_the_registered_checksums pins what the generator makes,
    and the writer still checks the bytes against the registry before writing them.
    """
    monkeypatch.setattr(standin, "generate_fashion_standin", lambda: generated)
    return generated


@pytest.fixture
def standin_dir(tmp_path: Path, fast_generator: Generated) -> Path:
    """A data directory holding the stand-in; returns the data directory (not its folder)."""
    write_fashion_standin(tmp_path)
    return tmp_path


def listing(directory: Path) -> list[str]:
    """All names in a directory, hidden ones included (temporary files start with a dot)."""
    return sorted(os.listdir(directory)) if directory.exists() else []


def signature(directory: Path) -> dict[str, tuple[int, int]]:
    return {name: ((directory / name).stat().st_ino, (directory / name).stat().st_mtime_ns)
            for name in listing(directory)}


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gpukit")
    add_data_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


# --------------------------------------------------------------------------- generator


def test_generator_matches_the_registered_checksums(generated: Generated) -> None:
    (x_train, y_train), (x_test, y_test) = generated
    arrays = (x_train, y_train, x_test, y_test)
    for array, file in zip(arrays, FASHION_MNIST_STANDIN.files, strict=True):
        assert array.shape == file.shape
        assert file.checksum.compute(encode_idx(array)) == file.checksum.hexdigest, (
            f"the generator no longer makes the registered {file.filename}: if the drawing code "
            "was changed on purpose, update the digests in gpukit/data/registry.py; otherwise "
            "it gives different bytes on this platform or numpy version"
        )


def test_generator_shapes_dtypes_and_balanced_classes(generated: Generated) -> None:
    (x_train, y_train), (x_test, y_test) = generated
    assert x_train.shape == (standin.N_TRAIN, 28, 28) and y_train.shape == (standin.N_TRAIN,)
    assert x_test.shape == (standin.N_TEST, 28, 28) and y_test.shape == (standin.N_TEST,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert len(standin.CLASSES) == 10 and standin.CLASSES[0] == "T-shirt/top"
    assert np.bincount(y_train, minlength=10).tolist() == [standin.N_TRAIN // 10] * 10
    assert np.bincount(y_test, minlength=10).tolist() == [standin.N_TEST // 10] * 10
    assert len(set(y_train[:20].tolist())) > 5  # shuffled, not sorted by class
    assert x_train.min() == 0 and x_train.max() > 200  # dark background, bright garments
    assert 0.2 < (x_train > 0).mean() < 0.6
    # Training and test images are drawn separately, not copies of each other.
    assert not {x.tobytes() for x in x_train} & {x.tobytes() for x in x_test}


def test_generator_draws_distinct_silhouettes_per_class(generated: Generated) -> None:
    (x_train, y_train), _ = generated
    means = np.stack([x_train[y_train == c].mean(axis=0) for c in range(10)])
    distances = np.abs(means[:, None] - means[None, :]).mean(axis=(2, 3))
    off_diagonal = distances[~np.eye(10, dtype=bool)]
    assert off_diagonal.min() > 1.0  # no two classes share an average picture


# --------------------------------------------------------------------------- writing


def test_write_creates_the_files_and_the_marker(tmp_path: Path, generated: Generated) -> None:
    directory = write_fashion_standin(tmp_path)  # the real generator, end to end

    assert directory == tmp_path / "fashion-mnist"
    # Uncompressed files under Fashion-MNIST's names, the marker, and no temporary leftovers.
    assert listing(directory) == sorted([*FILENAMES, STAND_IN_MARKER])
    (x_train, _), (_, y_test) = generated
    assert (directory / FILENAMES[0]).read_bytes() == encode_idx(x_train)
    assert (directory / FILENAMES[3]).read_bytes() == encode_idx(y_test)
    marker = (directory / STAND_IN_MARKER).read_text()
    assert "NOT hold Zalando's Fashion-MNIST" in marker
    assert "gpukit-data fetch fashion-mnist --data-dir" in marker  # how to get the real one
    assert "t10k-labels-idx1-ubyte.gz" in marker


def test_write_is_idempotent(standin_dir: Path) -> None:
    directory = standin_dir / "fashion-mnist"
    before = signature(directory)
    assert write_fashion_standin(standin_dir) == directory
    assert signature(directory) == before  # nothing rewritten


def test_write_completes_a_partial_stand_in_and_keeps_the_rest(standin_dir: Path) -> None:
    directory = standin_dir / "fashion-mnist"
    (directory / "t10k-images-idx3-ubyte").unlink()
    kept = signature(directory)
    write_fashion_standin(standin_dir)
    assert listing(directory) == sorted([*FILENAMES, STAND_IN_MARKER])
    after = signature(directory)
    assert all(after[name] == kept[name] for name in kept)
    assert all(status.ok for status in verify_dataset("fashion-mnist", standin_dir))


def test_write_refuses_to_cover_real_files(tmp_path: Path, fast_generator: Generated) -> None:
    directory = tmp_path / "fashion-mnist"
    directory.mkdir()
    real = write_idx(directory / "train-images-idx3-ubyte.gz", np.ones((3, 28, 28), np.uint8))
    before = real.read_bytes()

    with pytest.raises(DatasetError) as err:
        write_fashion_standin(tmp_path)

    message = str(err.value)
    assert "train-images-idx3-ubyte.gz" in message and "not the generated stand-in" in message
    assert "What to do:" in message and "gpukit-data verify fashion-mnist" in message
    assert listing(directory) == ["train-images-idx3-ubyte.gz"]  # no marker, nothing else
    assert real.read_bytes() == before


def test_write_refuses_drifted_bytes(
    tmp_path: Path, fast_generator: Generated, monkeypatch: pytest.MonkeyPatch
) -> None:
    (x_train, y_train), test = fast_generator
    drifted = ((x_train ^ 1, y_train), test)  # what another platform might produce
    monkeypatch.setattr(standin, "generate_fashion_standin", lambda: drifted)
    with pytest.raises(DatasetError, match="does not match the stand-in's registered checksum"):
        write_fashion_standin(tmp_path)
    assert FILENAMES[0] not in listing(tmp_path / "fashion-mnist")


# --------------------------------------------------------------------------- loading and verifying


@pytest.mark.parametrize("load", [load_fashion_mnist, lambda d: load_dataset("fashion-mnist", d)],
                         ids=["load_fashion_mnist", "load_dataset"])
def test_load_announces_the_stand_in_once_on_stdout(
    standin_dir: Path, generated: Generated, load, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    (x_train, y_train), (x_test, y_test) = load(standin_dir)

    for got, want in zip((x_train, y_train, x_test, y_test), (*generated[0], *generated[1]),
                         strict=True):
        np.testing.assert_array_equal(got, want)
    out, err = capsys.readouterr()
    directory = standin_dir / "fashion-mnist"
    assert out == (f"fashion-mnist: using the generated stand-in in {directory} "
                   f"(not the real dataset; see {STAND_IN_MARKER})\n")
    assert err == ""  # nbgrader scores a test cell zero if it writes to stderr

    clear_cache()
    load(standin_dir)
    assert capsys.readouterr() == ("", "")  # once per process and folder


def test_marker_selects_the_stand_in_spec(standin_dir: Path, tmp_path: Path) -> None:
    assert resolve_spec("fashion-mnist", standin_dir) == FASHION_MNIST_STANDIN
    assert resolve_spec("fashion_mnist", tmp_path / "empty") == FASHION_MNIST
    assert resolve_spec("mnist", standin_dir) == DATASETS["mnist"]
    assert FASHION_MNIST_STANDIN.folder_name == "fashion-mnist"
    assert STAND_INS == {"fashion-mnist": FASHION_MNIST_STANDIN}
    assert FASHION_MNIST_STANDIN.name == "fashion-mnist (generated stand-in)"
    assert not FASHION_MNIST_STANDIN.mirrors


def test_verify_checks_the_stand_in_against_its_own_checksums(standin_dir: Path) -> None:
    statuses = verify_dataset("fashion-mnist", standin_dir)
    assert [s.filename for s in statuses] == FILENAMES
    assert all(s.present and s.ok for s in statuses), statuses


def test_tampered_stand_in_file_is_rejected_by_name(standin_dir: Path) -> None:
    victim = standin_dir / "fashion-mnist" / "t10k-labels-idx1-ubyte"
    data = bytearray(victim.read_bytes())
    data[-1] = (data[-1] + 1) % 10  # still a valid label: only the checksum can tell
    victim.write_bytes(bytes(data))

    with pytest.raises(DatasetError) as err:
        load_fashion_mnist(standin_dir)

    message = str(err.value)
    assert f"{victim} is corrupt: checksum mismatch" in message
    assert FASHION_MNIST_STANDIN.test_labels.checksum.hexdigest in message
    assert "gpukit-data fetch fashion-mnist --stand-in" in message and STAND_IN_MARKER in message
    bad = [s for s in verify_dataset("fashion-mnist", standin_dir) if not s.ok]
    assert [s.filename for s in bad] == ["t10k-labels-idx1-ubyte"]


def test_marker_does_not_make_other_files_acceptable(tmp_path: Path) -> None:
    # Real-looking .gz files in a folder that still holds the marker: checked as the stand-in.
    directory = tmp_path / "fashion-mnist"
    directory.mkdir()
    (directory / STAND_IN_MARKER).write_text("stand-in\n")
    for file in FASHION_MNIST_STANDIN.files:
        write_idx(directory / f"{file.filename}.gz", np.zeros(file.shape, np.uint8))
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz is corrupt") as err:
        load_fashion_mnist(tmp_path)
    assert f"delete {directory / STAND_IN_MARKER} instead" in str(err.value)


def test_without_the_marker_stand_in_files_are_refused_with_the_reason(
    standin_dir: Path,
) -> None:
    directory = standin_dir / "fashion-mnist"
    (directory / STAND_IN_MARKER).unlink()
    assert resolve_spec("fashion-mnist", standin_dir) == FASHION_MNIST
    with pytest.raises(DatasetError) as err:
        load_fashion_mnist(standin_dir)
    message = str(err.value)
    assert f"{STAND_IN_MARKER} is missing" in message and "generated stand-in" in message
    assert "--stand-in" in message
    assert not any(s.ok for s in verify_dataset("fashion-mnist", standin_dir))

    write_fashion_standin(standin_dir)  # puts the marker back, keeps the files
    assert all(s.ok for s in verify_dataset("fashion-mnist", standin_dir))


def test_download_is_not_attempted_into_a_stand_in_folder(standin_dir: Path) -> None:
    (standin_dir / "fashion-mnist" / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError, match="generated, not downloaded") as err:
        load_fashion_mnist(standin_dir, download=True)
    assert "gpukit-data fetch fashion-mnist --stand-in" in str(err.value)


# --------------------------------------------------------------------------- CLI


def test_cli_fetch_stand_in_then_verify(
    tmp_path: Path, fast_generator: Generated, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["data", "fetch", "fashion-mnist", "--stand-in", "--data-dir", str(tmp_path)]
    assert run_cli(argv) == 0
    out, err = capsys.readouterr()
    directory = tmp_path / "fashion-mnist"
    assert f"fashion-mnist (generated stand-in) is ready in {directory}" in out
    assert "not the real fashion-mnist" in out and err == ""
    assert listing(directory) == sorted([*FILENAMES, STAND_IN_MARKER])

    assert run_cli(argv) == 0  # again: nothing to do
    assert run_cli(["data", "verify", "fashion-mnist", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Dataset fashion-mnist (generated stand-in)" in out
    assert "checking the generated stand-in" in out
    assert "All 4 files are present and valid." in out


def test_cli_plain_fetch_over_a_stand_in_says_what_is_there(
    standin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Everything is present and valid as the stand-in, so nothing is downloaded.
    assert run_cli(["data", "fetch", "fashion-mnist", "--data-dir", str(standin_dir)]) == 0
    out = capsys.readouterr().out
    assert "(generated stand-in) is ready" in out and "For the real dataset, delete" in out


def test_cli_stand_in_only_for_fashion_mnist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["data", "fetch", "mnist", "--stand-in", "--data-dir", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "There is no generated stand-in for 'mnist'" in err and out == ""
    assert listing(tmp_path) == []


def test_cli_help_describes_the_stand_in(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["data", "fetch", "--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps the help text
    assert "--stand-in" in out and "generated stand-in" in out
    assert "NOT the real dataset" in out and STAND_IN_MARKER in out


def test_stand_in_file_stored_as_gz_is_accepted(
    tmp_path: Path, fast_generator: Generated
) -> None:
    # The stand-in's checksums cover the uncompressed bytes, so a gzipped copy of one of its
    # files is the stand-in's too: it is kept, not refused or written again.
    directory = tmp_path / "fashion-mnist"
    directory.mkdir()
    _, (_, y_test) = fast_generator
    write_idx(directory / "t10k-labels-idx1-ubyte.gz", y_test)
    write_fashion_standin(tmp_path)
    assert "t10k-labels-idx1-ubyte" not in listing(directory)
    assert all(s.ok for s in verify_dataset("fashion-mnist", tmp_path))
