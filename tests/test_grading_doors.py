"""The same grade through every door: `nbgrader autograde`, the nbgrader API formgrader's Autograde
button calls, and `gpukit grade` put the same scores, holds and comments into the gradebook.

One small class of lab 2 (the cheapest lab to grade) is graded three times, each time in a course
of its own: the reference, a correct notebook saved by Colab (nbgrader's metadata gone), a
notebook whose locked cell was edited, a notebook whose own cell tampers with the grader (held
for review), and a file that is not a notebook.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry

from gpukit.course import nbgrader_steps
from gpukit.course.layout import CourseLayout
from gpukit.demo.run import prepare_demo_course
from gpukit.pipeline.review import HOLD_COMMENT
from tests.grading import run_gpukit_grade
from tests.test_autograde_gpu_basics import FULL
from tests.test_sanitize import strip_metadata

pytestmark = pytest.mark.slow

STUDENTS = ("reference", "colab-saved", "locked-cell-edited", "tampering-held", "not-a-notebook")
GRADABLE = STUDENTS[:-1]

# The nbgrader API as formgrader builds it: the course's nbgrader_config.py, loaded from the
# course directory, then NbGraderAPI.autograde(assignment, student) for each student.
API_SCRIPT = """
import json, sys
from nbgrader.apps import NbGraderAPI
from nbgrader.apps.baseapp import NbGrader
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory

app = NbGrader()
app.load_config_file()
coursedir = CourseDirectory(parent=app)
api = NbGraderAPI(coursedir, Authenticator(parent=app), parent=app)
print(json.dumps({student: api.autograde(sys.argv[1], student)["success"]
                  for student in sys.argv[2:]}))
"""


def class_notebooks(solution: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode | bytes]:
    locked = copy.deepcopy(solution)
    setup = next(c for c in locked.cells if c.get("id") == "setup")
    setup.source = setup.source.replace("MB = 1024 ** 2", "MB = 1000 ** 2")
    tampering = copy.deepcopy(solution)
    tampering.cells.append(nbformat.v4.new_code_cell(
        "from gpukit.grading import check  # the grader's own machinery"))
    return {"reference": solution, "colab-saved": strip_metadata(solution),
            "locked-cell-edited": locked, "tampering-held": tampering,
            "not-a-notebook": b"%PDF-1.7 my answers, printed\n"}


def write(content, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        nbformat.write(content, str(path))


def gradebook_state(root: Path, assignment: str, notebook: str) -> dict:
    """Per student: every cell's automatic and manual score, the review flags and comments."""
    state = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in STUDENTS:
            try:
                nb = gb.find_submission_notebook(notebook, assignment, student)
            except MissingEntry:
                state[student] = None
                continue
            state[student] = {
                "flagged": nb.flagged,
                "grades": {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade)
                           for g in nb.grades},
                "comments": {c.name: c.auto_comment for c in nb.comments},
            }
    return state


@pytest.fixture(scope="module")
def doors(released_course, tmp_path_factory) -> dict[str, dict]:
    lab = released_course.course.lab("gpu_basics")
    solution = nbformat.read(str(CourseLayout(released_course.root).solution(lab)),
                             as_version=4)
    notebooks = class_notebooks(solution)
    notebook_name = CourseLayout(released_course.root).solution(lab).name
    work = tmp_path_factory.mktemp("doors")
    states = {}

    for door in ("nbgrader autograde", "nbgrader API"):
        course = prepare_demo_course(released_course, work / door.replace(" ", "-"))
        # As an instructor's course is after `gpukit release`: the assignment in the gradebook.
        nbgrader_steps.generate_assignment(course.root, lab.name)
        for student, content in notebooks.items():
            write(content, course.root / "submitted" / student / lab.name / notebook_name)
        if door == "nbgrader autograde":
            done = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", lab.name,
                                   "--force"], cwd=course.root, capture_output=True, text=True,
                                  timeout=900)
            failed = re.findall(r"error processing assignment '[\w-]+' for student '([\w-]+)'",
                                done.stderr)
            assert failed == ["not-a-notebook"], done.stderr[-3000:]
        else:
            done = subprocess.run([sys.executable, "-c", API_SCRIPT, lab.name, *STUDENTS],
                                  cwd=course.root, capture_output=True, text=True,
                                  timeout=900)
            success = json.loads(done.stdout.strip().splitlines()[-1])
            assert success == {**dict.fromkeys(GRADABLE, True), "not-a-notebook": False}, \
                done.stderr[-3000:]
        states[door] = gradebook_state(course.root, lab.name, Path(notebook_name).stem)

    course = prepare_demo_course(released_course, work / "gpukit-grade")
    folder = work / "submissions"
    for student, content in notebooks.items():
        write(content, folder / f"{student}.ipynb")
    run_gpukit_grade(course.root, lab.name, folder, work / "out")
    states["gpukit grade"] = gradebook_state(course.root, lab.name, Path(notebook_name).stem)
    return states


@pytest.mark.parametrize("student", STUDENTS)
def test_every_door_gives_the_same_scores_holds_and_comments(doors, student):
    through_nbgrader = doors["nbgrader autograde"][student]
    assert doors["nbgrader API"][student] == through_nbgrader
    assert doors["gpukit grade"][student] == through_nbgrader


def test_the_grades_are_the_right_ones(doors):
    state = doors["gpukit grade"]
    full = state["reference"]["grades"]
    assert {name: auto for name, (auto, _, _) in full.items() if auto is not None} == FULL
    for student in ("colab-saved", "locked-cell-edited"):  # correct work: as the reference
        assert state[student]["grades"] == full and not state[student]["flagged"]
    held = state["tampering-held"]
    assert held["flagged"]
    assert all(manual == 0 and needs for _, manual, needs in
               (grade for name, grade in held["grades"].items() if grade[0] is not None))
    assert any((text or "").startswith(HOLD_COMMENT) for text in held["comments"].values())
    assert state["not-a-notebook"] is None or not any(
        auto for auto, _, _ in state["not-a-notebook"]["grades"].values())
