"""Rendering and releasing: committed files up to date, nothing secret in the release."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator

from gpukit.config import load_config
from gpukit.course.layout import COURSE_LABS, CourseLayout
from gpukit.demo.sample_class import expected_of
from gpukit.errors import TemplateError
from gpukit.labs import KIT_LABS, core_mnist, gpu_basics
from gpukit.release.release import release_course
from gpukit.release.render import render_notebook, render_text
from tests.conftest import REPO, suite_course

GENERATED_TREES = ("source", "release", "solutions", "autograder")
# Every lab of the suite's course, by assignment name: the per-lab tests run for each.
LAB_NAMES = [lab.name for lab in suite_course().assignments]

def release_expectations(lab_id: str) -> dict:
    """What a lab's release must look like: its fixtures/expected.py's RELEASE."""
    return expected_of(next(lab for lab in KIT_LABS if lab().lab_id == lab_id)).RELEASE


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def test_missing_template_parameter_fails_loudly():
    lab = core_mnist.Lab()
    params = {**lab.template_params(), "student_wheel": "gpukit_student.whl"}
    del params["epochs"]
    with pytest.raises(TemplateError, match="'epochs' is undefined"):
        render_text(lab, "notebook.nb.j2", params)


def test_parameters_reach_the_notebook():
    lab = core_mnist.Lab(epochs=3, keras_accuracy_threshold=0.95,
                         points=core_mnist.Points(torch_accuracy=7))
    cells = {cell.id: cell for cell in render_notebook(lab).cells}
    assert "EPOCHS = 3\nKERAS_THRESHOLD = 0.95\n" in cells["setup"].source
    assert cells["torch_accuracy"].metadata["nbgrader"]["points"] == 7


def test_gpu_basics_parameters_reach_the_notebook():
    lab = gpu_basics.Lab(name="lab9", memory_tensor_mb=24,
                         points=gpu_basics.Points(forward_on=5))
    cells = {cell.id: cell for cell in render_notebook(lab).cells}
    assert "MEMORY_MB = 24  #" in cells["setup"].source
    assert cells["forward_on"].metadata["nbgrader"]["points"] == 5
    assert '| 3 | A forward pass on the device | 5 |' in cells["banner"].source
    assert 'check("lab9", "forward_on", globals())' in cells["forward_on"].source


def test_every_lab_states_what_its_release_must_hold():
    for lab in KIT_LABS:
        assert set(release_expectations(lab().lab_id)) == {"total_points", "min_secret_lines",
                                                           "in_solution"}


@pytest.fixture(scope="module")
def instructor_release(request, tmp_path_factory) -> Path:
    """The repository's own grading_config.py released: what its committed source/, release/
    and solutions/ must be. That is the suite's release wherever the instructor's labs are the
    suite's (the shipped defaults); a release of its own once an instructor changed them."""
    instructor = load_config(REPO / "grading_config.py").course
    if instructor.assignments == suite_course().assignments:
        return request.getfixturevalue("released_course").root
    root = tmp_path_factory.mktemp("instructor")
    shutil.copy(REPO / "grading_config.py", root / "grading_config.py")
    if (REPO / COURSE_LABS).is_dir():
        shutil.copytree(REPO / COURSE_LABS, root / COURSE_LABS)
    release_course(load_config(root / "grading_config.py"), progress=False)
    return root


def test_committed_generated_files_are_up_to_date(instructor_release):
    """source/, release/, solutions/ and autograder/ are build outputs: `gpukit release` must
    reproduce them, byte for byte (what the instructor sees in autograder/ is what grades)."""
    stale = []
    for tree in GENERATED_TREES:
        fresh_files = sorted(p.relative_to(instructor_release)
                             for p in (instructor_release / tree).rglob("*") if p.is_file())
        committed = sorted(p.relative_to(REPO) for p in (REPO / tree).rglob("*") if p.is_file())
        if fresh_files != committed:
            stale.append(f"{tree}/: files differ: {fresh_files} vs {committed}")
            continue
        for rel in fresh_files:
            if _normalised(instructor_release / rel) != _normalised(REPO / rel):
                stale.append(str(rel))
    assert not stale, f"stale generated files (run `gpukit release` and commit): {stale}"


@pytest.mark.slow
def test_a_reweighed_instructor_config_keeps_the_suite_green_and_the_release_right(tmp_path):
    """An instructor reweighs checks in grading_config.py, as its comments invite, and releases
    again: the release carries the new points, and the suite, which builds the course it tests,
    stays green. Its configuration-dependent tests run here on a copy of the repository that
    holds the reweighed file and that release."""
    repo = tmp_path / "repo"
    for tree in ("tests", *GENERATED_TREES):
        shutil.copytree(REPO / tree, repo / tree, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", repo / "pyproject.toml")
    text = (REPO / "grading_config.py").read_text()
    reweighed = text.replace("points=gpu_basics.Points()",
                             "points=gpu_basics.Points(forward_on=5, q_empty_cache=4)")
    assert reweighed != text, "grading_config.py no longer lists gpu_basics.Points()"
    (repo / "grading_config.py").write_text(reweighed)
    released = subprocess.run([sys.executable, "-m", "gpukit", "release", "--no-progress"],
                              cwd=repo, capture_output=True, text=True, timeout=600)
    assert released.returncode == 0, released.stdout + released.stderr

    lab = load_config(repo / "grading_config.py").course.lab("gpu_basics")
    layout = CourseLayout(repo)
    cells = [cell for cell in read(layout.source(lab)).cells if "nbgrader" in cell.metadata]
    points = {cell.metadata["nbgrader"]["grade_id"]: cell.metadata["nbgrader"].get("points", 0)
              for cell in cells}
    assert points["forward_on"] == 5 and points["q_empty_cache"] == 4
    assert sum(points.values()) == release_expectations("gpu_basics")["total_points"] + 4
    assert "(4 points, cell `q_empty_cache`)" in layout.rubric(lab).read_text()

    # The configuration tests, and the one that compares the committed release with the
    # instructor's file (the other reader of that file, test_student_runtime.py's release
    # folder, finds its lab by its name whatever the points).
    suite = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "tests/test_config.py",
                            "tests/test_release.py::test_committed_generated_files_are_up_to_date"],
                           cwd=repo, capture_output=True, text=True, timeout=900)
    assert suite.returncode == 0, suite.stdout[-3000:] + suite.stderr[-3000:]


def _normalised(path: Path):
    if path.suffix == ".ipynb":
        return json.loads(path.read_text())
    return path.read_bytes()  # the student wheel must be the same, byte for byte


@pytest.mark.parametrize("name", LAB_NAMES)
def test_every_generated_file_says_so(released_course, name):
    layout = CourseLayout(released_course.root)
    lab = released_course.course.assignment(name)
    for path in (layout.source(lab), layout.release(lab), layout.solution(lab)):
        assert "Do not edit this file" in read(path).cells[0].source
    assert "Do not edit." in layout.rubric(lab).read_text()


@pytest.mark.parametrize("name", LAB_NAMES)
def test_release_holds_no_solution_hidden_test_or_answer(released_course, name):
    lab = released_course.course.assignment(name)
    layout = CourseLayout(released_course.root)
    master, release = read(layout.source(lab)), read(layout.release(lab))
    released_text = "\n".join(cell.source for cell in release.cells)
    assert not re.search(r"BEGIN (SOLUTION|HIDDEN TESTS)|END (SOLUTION|HIDDEN TESTS)",
                         released_text)

    secrets = []  # solution code, reference written answers, hidden tests
    for cell in master.cells:
        secrets += _distinctive_lines(_regions(cell.source, "SOLUTION"))
        secrets += _distinctive_lines(_regions(cell.source, "HIDDEN TESTS"))
    # Instructions may quote a line of the solution on purpose (`t = torch.empty(...)`): what
    # the master shows outside its secret regions is public.
    public = _outside_regions(master)
    leaked = [line for line in secrets if line not in public and line in released_text]
    assert len(secrets) > release_expectations(lab.lab_id)["min_secret_lines"], \
        "the master should hold solutions and hidden tests to check"
    assert not leaked, f"released notebook contains secret lines: {leaked}"


# Code regions use "### BEGIN SOLUTION", written answers "<!-- BEGIN SOLUTION -->".
def _regions(source: str, name: str) -> str:
    return "\n".join(re.findall(rf"BEGIN {name}[^\n]*\n(.*?)\n[^\n]*END {name}", source,
                                re.S))


def _outside_regions(nb) -> str:
    text = "\n".join(cell.source for cell in nb.cells)
    return re.sub(r"BEGIN (SOLUTION|HIDDEN TESTS)[^\n]*\n.*?END \1", "", text, flags=re.S)


def _distinctive_lines(text: str) -> list[str]:
    # Short lines ("return model", "else:") also occur legitimately in the given code.
    return [line.strip() for line in text.splitlines() if len(line.strip()) >= 20]


@pytest.mark.parametrize("name", LAB_NAMES)
def test_release_metadata_is_valid_and_points_add_up(released_course, name):
    lab = released_course.course.assignment(name)
    release = read(CourseLayout(released_course.root).release(lab))
    MetadataValidator().validate_nb(release)
    graded = {cell.id: cell.metadata["nbgrader"]["points"] for cell in release.cells
              if cell.metadata["nbgrader"]["grade"]}
    assert graded == {name: getattr(lab.points, name) for name in vars(lab.points)}
    assert sum(graded.values()) == lab.points.total() \
        == release_expectations(lab.lab_id)["total_points"]
    # generate_assignment checksummed every graded and solution cell (the gradebook relies on it)
    assert all("checksum" in cell.metadata["nbgrader"] for cell in release.cells
               if cell.metadata["nbgrader"]["grade"] or cell.metadata["nbgrader"]["solution"])


@pytest.mark.parametrize("name", LAB_NAMES)
def test_solution_keeps_code_and_answers_without_hidden_tests(released_course, name):
    lab = released_course.course.assignment(name)
    solution = read(CourseLayout(released_course.root).solution(lab))
    text = "\n".join(cell.source for cell in solution.cells)
    # solution code, and (the last) a phrase of a reference written answer
    for snippet in release_expectations(lab.lab_id)["in_solution"]:
        assert snippet in text
    assert "HIDDEN TESTS" not in text and "import check" not in text
    assert all(not cell.get("outputs") for cell in solution.cells if cell.cell_type == "code")


@pytest.mark.parametrize("name", LAB_NAMES)
def test_rubric_covers_every_written_question(released_course, name):
    lab = released_course.course.assignment(name)
    rubric = CourseLayout(released_course.root).rubric(lab).read_text()
    written = list(lab.points.written())
    assert [q["id"] for q in lab.questions()] == written
    for question in written:
        assert f"({getattr(lab.points, question)} points, cell `{question}`)" in rubric
    assert "{{" not in rubric
    assert release_expectations(lab.lab_id)["in_solution"][-1] in rubric  # a reference answer
