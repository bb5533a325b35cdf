"""The course's autograder/: written by release, refused when stale or edited, run by plain pytest.

The committed tree is compared with a fresh release in tests/test_release.py
(test_committed_generated_files_are_up_to_date); the grading kernel's side (it reads the frozen
settings and checks, nothing of grading_config.py) in tests/test_grading_runner.py.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import nbformat
import pytest

from gpukit.batch.job import pack_template, prepare_template
from gpukit.batch.preflight import check_autograder
from gpukit.batch.stages import grader_version
from gpukit.config import load_config, python_source
from gpukit.course.layout import CourseLayout
from gpukit.demo.sample_class import expected_of
from gpukit.errors import GpukitError
from gpukit.grading.autograder import FrozenLab
from gpukit.grading.outcome import MIME_TYPE
from gpukit.labs import LABS_DIR
from gpukit.notebooks.edits import apply_edits_file
from gpukit.pipeline.plain_pytest import outcomes_of
from gpukit.release.autograder import stale_autograder, write_autograder
from tests.conftest import suite_course

LAB = "gpu_basics"  # the quickest lab to run


@pytest.fixture
def course(tmp_path):
    """A course whose gpu_basics autograder is written (no nbgrader needed for that)."""
    (tmp_path / "grading_config.py").write_text(python_source(suite_course()))
    loaded = load_config(tmp_path / "grading_config.py")
    write_autograder(loaded, loaded.course.assignment(LAB))
    return loaded


def test_release_writes_each_assignments_checks_settings_and_table(released_course):
    root = CourseLayout(released_course.root).autograder
    assert {p.name for p in root.iterdir() if p.is_file()} == {"pytest.ini", "conftest.py"}
    for lab in released_course.course.assignments:
        folder = root / lab.name
        assert sorted(p.name for p in folder.iterdir() if p.is_file()) == \
            ["README.md", "conftest.py", "settings.json", f"test_{lab.name}.py"]
        test_file = (folder / f"test_{lab.name}.py").read_text()
        assert test_file.startswith("# Written by `gpukit release`")
        assert test_file.endswith(lab.checks_file.read_text())
        settings = json.loads((folder / "settings.json").read_text())
        assert settings["points"]["checks"] == lab.points.checks()
        assert settings["gpu_policy"] == released_course.course.gpu_policy
        for name, value in settings["settings"].items():
            assert getattr(lab, name) == value
        readme = (folder / "README.md").read_text()
        for name, points in lab.points.checks().items():
            assert f"| `{name}` | {points:g} |" in readme


def test_a_current_autograder_passes_and_each_kind_of_drift_is_named(course):
    lab = course.course.assignment(LAB)
    assert stale_autograder(course, lab) == []
    folder = course.root / "autograder" / LAB

    test_file = folder / f"test_{LAB}.py"
    test_file.write_text(test_file.read_text().replace("MB_TOLERANCE = 0.01", "MB_TOLERANCE = 1"))
    (folder / "helpers.py").write_text("# a file of the instructor's\n")
    assert stale_autograder(course, lab) == [f"autograder/{LAB}/test_{LAB}.py",
                                             f"autograder/{LAB}/helpers.py"]
    with pytest.raises(GpukitError) as refused:
        check_autograder(course, lab, say=lambda _: None)
    assert "edited by hand" in refused.value.message and "Nothing was graded" in \
        refused.value.message
    assert "gpukit release" in refused.value.hint

    # The instructor changes points in grading_config.py and does not release again.
    write_autograder(course, lab)
    (folder / "helpers.py").unlink()
    config = course.root / "grading_config.py"
    text = config.read_text()
    assert "gpu_memory=2" in text
    config.write_text(text.replace("gpu_memory=2", "gpu_memory=5"))
    reweighed = load_config(config)
    assert stale_autograder(reweighed, reweighed.course.assignment(LAB)) == [
        f"autograder/{LAB}/settings.json", f"autograder/{LAB}/README.md"]


def test_gpukit_grade_refuses_a_hand_edited_autograder_before_grading(course, tmp_path):
    settings = course.root / "autograder" / LAB / "settings.json"
    settings.write_text(settings.read_text().replace('"device": 1', '"device": 10'))
    (tmp_path / "submissions").mkdir()
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "submissions" / "alice.ipynb")
    done = subprocess.run([sys.executable, "-m", "gpukit", "grade", str(tmp_path / "submissions"),
                           "--assignment", LAB, "--no-progress"], cwd=course.root,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert f"autograder/{LAB}/settings.json is missing, out of date or edited by hand" in \
        done.stderr
    assert "gpukit release" in done.stderr


def plain_pytest(root: Path, *args: str) -> subprocess.CompletedProcess:
    """`pytest` run in the course, as an instructor runs it."""
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=root,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTEST_ADDOPTS": ""})


def summary_table(output: str) -> dict[str, float]:
    """The points of each check, from the summary plain pytest prints."""
    rows = re.findall(r"^(\w+)\s+([\d.]+)/([\d.]+)\s+(passed|failed|skipped|error|integrity|"
                      r"needs_gpu)", output, re.MULTILINE)
    return {name: float(earned) for name, earned, _, _ in rows}


def test_plain_pytest_grades_the_solution_and_a_submission_with_the_checks_points(
        released_course, tmp_path):
    """`pytest autograder/<lab>` grades the solution; `--notebook` a fixture, whose points are
    its row of the lab's expected table, one line per check."""
    root = released_course.root
    expected = expected_of(released_course.course.assignment(LAB)).EXPECTED

    solution = plain_pytest(root, f"autograder/{LAB}")
    assert solution.returncode == 0, solution.stdout[-3000:]
    assert summary_table(solution.stdout) == expected["reference-solution"]
    assert re.search(r"^total\s+13/13\s+automatic points", solution.stdout, re.MULTILINE)

    layout = CourseLayout(root)
    lab = released_course.course.assignment(LAB)
    notebook = tmp_path / "batch-partly-moved.ipynb"
    nbformat.write(apply_edits_file(nbformat.read(layout.solution(lab), as_version=4),
                                    LABS_DIR / LAB / "fixtures" / "batch-partly-moved.edits"),
                   notebook)
    mistake = plain_pytest(root, f"autograder/{LAB}", "--notebook", str(notebook), "-rN")
    assert mistake.returncode == 1
    assert summary_table(mistake.stdout) == expected["batch-partly-moved"]
    assert re.search(r"^move_batch\s+0/2\s+failed\s+move_batch\(\) returns tensors that are "
                     r"not on `device`", mistake.stdout, re.MULTILINE)
    assert "1 failed, 5 passed, 1 skipped" in mistake.stdout


def test_plain_pytest_wants_one_assignment_for_one_notebook(released_course, tmp_path):
    notebook = tmp_path / "any.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    done = plain_pytest(released_course.root, "autograder", "--notebook", str(notebook))
    assert done.returncode != 0
    assert "grades one notebook with one assignment's checks" in done.stdout + done.stderr
    assert "gpukit: " not in done.stdout  # nothing ran


def test_the_job_template_carries_the_autograder_and_the_graders_fingerprint_covers_it(
        released_course, tmp_path):
    """Jobs (local and Ray: the packed template) grade with the released autograder, and a
    record graded with other checks or settings is graded again (grader_version)."""
    lab = released_course.course.assignment(LAB)
    template = prepare_template(released_course, lab, tmp_path / "template")
    copied = template / "autograder" / LAB
    assert sorted(p.name for p in copied.iterdir()) == ["README.md", "settings.json",
                                                         f"test_{LAB}.py"]
    assert "autograder/" in {name.split("/")[0] + "/" for name in
                             tarfile.open(fileobj=io.BytesIO(pack_template(template))).getnames()}
    before = grader_version(template)
    settings = copied / "settings.json"
    settings.write_text(settings.read_text().replace('"device": 1', '"device": 2'))
    assert grader_version(template) != before


def test_plain_pytest_says_a_missing_dataset_is_the_environments_fault(released_course,
                                                                        tmp_path):
    """No notebook runs without its data: every check is reported not graded, with the cause
    and what to do once, instead of the notebook's NameErrors scored as the student's."""
    done = subprocess.run([sys.executable, "-m", "pytest", "autograder/fashion_ann"],
                          cwd=released_course.root, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTEST_ADDOPTS": "",
                               "GPUKIT_DATA_DIR": str(tmp_path)})
    assert done.returncode == 1
    assert done.stdout.count("not graded: the grading environment (below)") == 8
    assert "not graded: the grading environment, not the notebook: The lab fashion_ann needs " \
           "the dataset fashion-mnist" in done.stdout
    assert "What to do: Run `gpukit-data fetch fashion-mnist" in done.stdout


def test_plain_pytest_refuses_a_notebook_that_is_missing_or_not_a_notebook(released_course,
                                                                            tmp_path):
    (tmp_path / "essay.ipynb").write_text("my answers, as text")
    for given, says in ((tmp_path / "essay.ipynb", "is not a readable Jupyter notebook"),
                        (tmp_path / "missing.ipynb", "no such file")):
        done = plain_pytest(released_course.root, f"autograder/{LAB}", "--notebook", str(given))
        assert done.returncode == 4  # pytest's usage error: nothing ran
        assert f"ERROR: --notebook {given}" in done.stderr and says in done.stderr


def test_plain_pytest_shows_what_a_notebook_wrote_as_plain_text():
    """An outcome quotes the student's exception or the check's message: no escape sequence
    reaches the instructor's terminal, whichever way the cell ended."""
    lab = FrozenLab(LAB, LAB, "t", "n.ipynb", "prefer", {}, {"device": 1, "move_batch": 2}, {})
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('check("gpu_basics", "device", globals())', outputs=[
            nbformat.v4.new_output("error", ename="ValueError", evalue="\x1b[2J\x1b[31mboom",
                                   traceback=[])]),
        nbformat.v4.new_code_cell('check("gpu_basics", "move_batch", globals())', outputs=[
            nbformat.v4.new_output("display_data", data={MIME_TYPE: {
                "check": "move_batch", "status": "failed",
                "message": "move_batch() raised \x1b]0;owned\x07ValueError"}})])])
    outcomes = outcomes_of(notebook, lab, stopped="")
    assert outcomes["device"].message == ("the cell failed before the check ran: ValueError: "
                                          "[2J[31mboom")
    assert outcomes["move_batch"].message == "move_batch() raised ]0;ownedValueError"
    assert outcomes["move_batch"].status == "failed"
