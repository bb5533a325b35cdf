"""Shared fixtures: the repository, the real MNIST directory, and a released copy of the course."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gpukit.config import Course, LoadedConfig, load_config, python_source
from gpukit.labs import KIT_LABS

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def mnist_data_dir() -> Path:
    """The real MNIST (../shared/data/mnist)."""
    return require_mnist()


def require_mnist() -> Path:
    """The data directory with the real MNIST. CI must have it: there, its absence is a
    failure; elsewhere the test that needs it is skipped."""
    if not (SHARED_DATA / "mnist").is_dir():
        message = f"real MNIST not found at {SHARED_DATA / 'mnist'}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run the real-MNIST tier)")
        pytest.skip(message)
    return SHARED_DATA


def suite_course() -> Course:
    """The course the suite tests: every kit lab with its default settings and points, the
    course's defaults, the shared data directory. The suite builds it rather than read the
    instructor's grading_config.py, whose points and thresholds are the instructor's to change
    (test_release.py::test_a_reweighed_instructor_config_leaves_the_suite_alone)."""
    return Course(course_id="gpu-training", data_dir=str(SHARED_DATA),
                  assignments=[lab() for lab in KIT_LABS])


@pytest.fixture(scope="session")
def released_course(tmp_path_factory: pytest.TempPathFactory) -> LoadedConfig:
    """The suite's course (:func:`suite_course`), released with the real nbgrader in a scratch
    directory: what `gpukit release` makes in a course directory."""
    from gpukit.release.release import release_course

    root = tmp_path_factory.mktemp("course")
    (root / "grading_config.py").write_text(python_source(suite_course()))
    loaded = load_config(root / "grading_config.py")
    release_course(loaded, progress=False)
    return loaded


@pytest.fixture(scope="session")
def sample_class(released_course: LoadedConfig, tmp_path_factory: pytest.TempPathFactory):
    """``sample_class(lab_id)``: the lab's sample class (tests/grading.py), graded once per
    session by `gpukit grade`, whichever test asks first (tests/lab_tier.py's tier, or a lab's
    own tests in tests/test_autograde_<lab>.py)."""
    from gpukit.demo.sample_class import expected_of
    from tests.grading import grade_sample_class

    graded: dict[str, dict] = {}

    def grade(lab_id: str) -> dict:
        if lab_id not in graded:
            lab = released_course.course.lab(lab_id)
            if "mnist" in lab.datasets:
                require_mnist()
            expected = expected_of(lab)
            graded[lab_id] = grade_sample_class(
                released_course, lab, tmp_path_factory.mktemp(lab_id), set(expected.EXPECTED),
                settings=getattr(expected, "SETTINGS", {}))
        return graded[lab_id]

    return grade


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a grading_config.py whose Course(...) arguments are the given source text."""

    def write(arguments: str, preamble: str = "") -> Path:
        path = tmp_path / "grading_config.py"
        path.write_text("from gpukit.config import Course\n"
                        "from gpukit.labs import core_mnist, gpu_basics\n"
                        f"{preamble}\nconfig = Course({arguments})\n")
        return path

    return write


@pytest.fixture(scope="session")
def mixed_class(released_course: LoadedConfig, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """tests/mixed_class.py's class of lab 2, graded once by `gpukit grade` with one worker."""
    from gpukit.course.layout import CourseLayout
    from tests.mixed_class import course_copy, grade, make_class, state

    lab = released_course.course.lab("gpu_basics")
    work = tmp_path_factory.mktemp("mixed-class")
    submissions = make_class(CourseLayout(released_course.root).solution(lab),
                             work / "submissions")
    root = course_copy(released_course, work / "course")
    done = grade(root, lab.name, submissions, work / "out", "--workers", "1")
    return {"lab": lab, "root": root, "output": work / "out", "submissions": submissions,
            "stdout": done.stdout, "state": state(root, work / "out", lab)}
