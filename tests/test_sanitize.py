"""Rebuilding a submission on the release: answers by metadata or marker; the rest by policy."""

from __future__ import annotations

import copy

import nbformat
import pytest

from gpukit.pipeline.rebuild import rebuild
from tests.conftest import REPO

LAB = "core_mnist/core_mnist.ipynb"


@pytest.fixture(scope="module")
def release():
    return nbformat.read(str(REPO / "release" / LAB), as_version=4)


@pytest.fixture
def solution():
    return nbformat.read(str(REPO / "solutions" / LAB), as_version=4)


def answers(nb):
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def strip_metadata(nb):
    """What a metadata-dropping editor leaves: no cell metadata, no cell ids, nbformat 4.4."""
    stripped = copy.deepcopy(nb)
    stripped.nbformat_minor = 4
    for cell in stripped.cells:
        cell.metadata = {}
        cell.pop("id", None)
    return stripped


def test_intact_submission_keeps_every_answer(release, solution):
    result = rebuild(solution, release)
    assert answers(result.notebook) == answers(solution)
    assert len(result.by_metadata) == 13 and not result.by_marker and not result.missing


def test_metadata_stripped_submission_rebuilds_the_same(release, solution):
    result = rebuild(strip_metadata(solution), release)
    assert answers(result.notebook) == answers(solution)
    assert len(result.by_marker) == 13 and result.extra_cells == 0
    assert "matched by their marker line" in result.summary()
    nbformat.validate(result.notebook)


def test_students_own_cells_are_kept_after_the_cell_they_followed(release, solution):
    position = next(i for i, c in enumerate(solution.cells) if c.id == "gpu_code")
    solution.cells.insert(position + 1, nbformat.v4.new_code_cell("helper = 42"))
    cells = rebuild(solution, release).notebook.cells
    index = next(i for i, c in enumerate(cells) if c.source == "helper = 42")
    assert cells[index - 1].metadata["nbgrader"]["grade_id"] == "gpu_code"


def test_deleted_answer_leaves_the_stub(release, solution):
    solution.cells = [c for c in solution.cells if c.id != "keras_code"]
    result = rebuild(solution, release)
    assert result.missing == ["keras_code"]
    assert "raise NotImplementedError()" in answers(result.notebook)["keras_code"]


def test_duplicated_answer_cell_uses_the_first(release, solution):
    first = next(c for c in solution.cells if c.id == "timing_code")
    twin = copy.deepcopy(first)
    twin.id, twin.source = "twin", twin.source + "\ntiming = None"
    solution.cells.append(twin)
    result = rebuild(solution, release)
    assert result.duplicates == ["timing_code"]
    assert answers(result.notebook)["timing_code"] == first.source


def test_edited_given_cell_is_restored(release, solution):
    setup = next(c for c in solution.cells if c.id == "setup")
    setup.source = "EPOCHS = 1"
    rebuilt = rebuild(solution, release).notebook
    assert "EPOCHS = 5" in next(c for c in rebuilt.cells if c.id == "setup").source
    assert all(c.source != "EPOCHS = 1" for c in rebuilt.cells)


def test_merged_answer_cells_are_split_at_the_marker(release, solution):
    merged = copy.deepcopy(solution)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in merged.cells}
    first, second = cells["keras_code"], cells["keras_train_code"]
    first.source += "\n\n" + second.source
    merged.cells.remove(second)
    result = rebuild(merged, release)
    assert answers(result.notebook) == answers(solution)
    assert result.split_cells == 1 and not result.missing


def test_a_marker_inside_a_metadata_stripped_cell_splits_it_too(release, solution):
    from tests.test_sanitize import strip_metadata

    merged = strip_metadata(solution)
    answer_cells = [c for c in merged.cells if "gpukit:answer=gpu_code" in c.source
                    or "gpukit:answer=environment_code" in c.source]
    answer_cells[0].source += "\n" + answer_cells[1].source
    merged.cells.remove(answer_cells[1])
    result = rebuild(merged, release)
    assert answers(result.notebook) == answers(solution)
