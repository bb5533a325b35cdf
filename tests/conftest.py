"""Shared fixtures: the repository, the real MNIST directory, and a released copy of the course."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from gpukit.config import LoadedConfig, load_config

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def mnist_data_dir() -> Path:
    """The real MNIST (../shared/data/mnist). CI must have it: there, its absence is a failure."""
    if not (SHARED_DATA / "mnist").is_dir():
        message = f"real MNIST not found at {SHARED_DATA / 'mnist'}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run the real-MNIST tier)")
        pytest.skip(message)
    return SHARED_DATA


@pytest.fixture(scope="session")
def released_course(tmp_path_factory: pytest.TempPathFactory) -> LoadedConfig:
    """The repository's grading_config.py and autograder/, released with the real nbgrader in a
    scratch directory.

    Tests never write into the working tree; this copy is what `gpukit release` makes there.
    """
    from gpukit.course.release import release_course

    root = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "grading_config.py", root / "grading_config.py")
    shutil.copytree(REPO / "autograder", root / "autograder")
    loaded = load_config(root / "grading_config.py")
    release_course(loaded, progress=False)
    return loaded


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a grading_config.py whose Course(...) arguments are the given source text."""

    def write(arguments: str, preamble: str = "") -> Path:
        path = tmp_path / "grading_config.py"
        path.write_text("from gpukit.config import Course, MnistLab, MnistPoints\n"
                        f"{preamble}\nconfig = Course({arguments})\n")
        return path

    return write


@pytest.fixture(scope="session")
def mixed_class(released_course: LoadedConfig, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """tests/mixed_class.py's class of lab 2, graded once by `gpukit grade` with one worker."""
    from gpukit.course.layout import CourseLayout
    from tests.mixed_class import course_copy, grade, make_class, state

    lab = next(lab for lab in released_course.course.assignments if lab.template == "gpu_basics")
    work = tmp_path_factory.mktemp("mixed-class")
    submissions = make_class(CourseLayout(released_course.root).solution(lab),
                             work / "submissions")
    root = course_copy(released_course, work / "course")
    done = grade(root, lab.name, submissions, work / "out", "--workers", "1")
    return {"lab": lab, "root": root, "output": work / "out", "submissions": submissions,
            "stdout": done.stdout, "state": state(root, work / "out", lab)}
