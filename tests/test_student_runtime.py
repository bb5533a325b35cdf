"""The student runtime: what students install holds nothing of the instructor's, and is enough.

The wheel `gpukit release` puts beside each notebook is built, listed and searched for every
secret the course has; then it is installed offline into fresh virtual environments that lack
the instructor's packages (nbgrader, pytest, jinja2, gpukit), and the release notebooks' given
cells that use it run there in a real Jupyter kernel.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import subprocess
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import gpukit_student
from gpukit.config import load_config
from gpukit.course.layout import CourseLayout
from gpukit.release.render import render_notebook
from gpukit.release.student_wheel import build_student_wheel
from gpukit_student.data import write_fashion_standin
from tests.conftest import REPO, suite_course
from tests.environments import fresh_environment

INSTRUCTOR_PACKAGES = ("gpukit", "nbgrader", "pytest", "jinja2")
# What a student's Jupyter environment imports for the labs: the frameworks, and a kernel (with
# what IPython loads lazily for tracebacks and the inline plotting backend).
STUDENT_KERNEL_MODULES = ["numpy", "torch", "torch._dynamo", "tensorflow", "matplotlib.pyplot",
                          "ipykernel.kernelapp", "ipykernel_launcher", "stack_data",
                          "matplotlib_inline.backend_inline"]
RUNTIME_DIR = Path(gpukit_student.__file__).parent
COURSE = suite_course()


@pytest.fixture(scope="module")
def wheel():
    return build_student_wheel()


@pytest.fixture(scope="module")
def wheel_text(wheel) -> str:
    with zipfile.ZipFile(io.BytesIO(wheel.content)) as archive:
        return "\n".join(archive.read(name).decode() for name in archive.namelist())


def test_wheel_holds_only_the_runtime_modules(wheel):
    with zipfile.ZipFile(io.BytesIO(wheel.content)) as archive:
        names = archive.namelist()
        assert archive.testzip() is None
    modules = sorted(f"gpukit_student/{path.relative_to(RUNTIME_DIR).as_posix()}"
                     for path in RUNTIME_DIR.rglob("*.py") if "__pycache__" not in path.parts)
    dist_info = "gpukit_student-0.1.0.dist-info"
    assert sorted(names) == sorted([*modules, *(f"{dist_info}/{name}" for name in
                                                ("METADATA", "WHEEL", "RECORD",
                                                 "entry_points.txt"))])
    assert wheel.filename == "gpukit_student-0.1.0-py3-none-any.whl"


def test_wheel_is_the_same_byte_for_byte_on_every_build(wheel):
    assert build_student_wheel().content == wheel.content


@pytest.mark.parametrize("path", sorted(RUNTIME_DIR.rglob("*.py")), ids=lambda p: p.name)
def test_runtime_is_written_in_python_3_10(path):
    """Colab runs 3.12 and some JupyterHubs 3.10: the runtime's grammar must be 3.10's (the kit
    itself needs 3.11). A 3.11-only construct (`except*`, ...) fails to parse here."""
    ast.parse(path.read_text(), filename=str(path), feature_version=(3, 10))


def test_wheel_metadata_asks_for_numpy_only(wheel):
    with zipfile.ZipFile(io.BytesIO(wheel.content)) as archive:
        metadata = archive.read("gpukit_student-0.1.0.dist-info/METADATA").decode()
    required = [line.split(": ", 1)[1] for line in metadata.splitlines()
                if line.startswith("Requires-Dist: ") and "extra ==" not in line]
    assert required == ["numpy>=1.21"]
    assert "Requires-Python: >=3.10" in metadata


def _secrets_of_the_course() -> dict[str, list[str]]:
    """Text that must never reach a student: solution regions, reference answers, rubric
    criteria, hidden check names, and the solution delimiters themselves."""
    found = {"delimiters": ["BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS",
                            "END HIDDEN TESTS"],
             "solution lines": [], "reference answers": [], "rubric": [], "check names": []}
    for lab in COURSE.assignments:
        for cell in render_notebook(lab).cells:
            for region in re.findall(r"BEGIN SOLUTION[^\n]*\n(.*?)\n[^\n]*END SOLUTION",
                                     cell.source, re.S):
                lines = [line.strip() for line in region.splitlines() if len(line.strip()) >= 25]
                if cell.cell_type == "markdown" and lines:
                    found["reference answers"].append(re.split(r"(?<=[.:;])\s", lines[0])[0])
                else:
                    found["solution lines"] += lines
        for question in lab.questions():
            found["rubric"] += [question["title"], *question["criteria"], *question["errors"]]
    for path in (REPO / "gpukit" / "labs").glob("*/checks.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and "_" in node.name.strip("_") \
                    and len(node.name) >= 10 and not node.name.startswith("__"):
                found["check names"].append(node.name)
    return found


def test_wheel_holds_no_solution_rubric_or_hidden_check(wheel_text):
    secrets = _secrets_of_the_course()
    assert len(secrets["solution lines"]) > 100 and len(secrets["reference answers"]) >= 12
    assert len(secrets["rubric"]) > 40 and len(secrets["check names"]) > 30
    leaked = {kind: [text for text in texts if text in wheel_text]
              for kind, texts in secrets.items()}
    assert not any(leaked.values()), leaked


def test_release_folders_hold_the_wheel_where_the_notebook_imports_the_runtime(wheel):
    # Checked on the committed release/ (test_release checks that it is what a release makes).
    for lab in COURSE.assignments:
        release = CourseLayout(REPO).release(lab)
        notebook = nbformat.read(str(release), as_version=4)
        imports = "gpukit_student" in "\n".join(c.source for c in notebook.cells
                                                 if c.cell_type == "code")
        wheels = sorted(p.name for p in release.parent.glob("*.whl"))
        assert wheels == ([wheel.filename] if imports else []), lab.name
        if imports:  # and the first cell says how to install it
            banner = notebook.cells[0].source
            assert f"%pip install {wheel.filename}" in banner
            assert (release.parent / wheel.filename).read_bytes() == wheel.content


# --------------------------------------------------------------------------------------------
# Fresh environments without the instructor's packages.
# --------------------------------------------------------------------------------------------


def _install_wheel(python: Path, folder: Path) -> float:
    """Install the release folder's wheel offline, as a student would; return the seconds."""
    (wheel,) = folder.glob("gpukit_student-*.whl")
    started = time.perf_counter()
    subprocess.run([python, "-m", "pip", "install", "--no-index", "--disable-pip-version-check",
                    "--quiet", wheel.name], cwd=folder, check=True, capture_output=True,
                   text=True)
    return time.perf_counter() - started


@pytest.fixture(scope="module")
def release_folder() -> Path:
    """The committed release of lab 1 (under the instructor's assignment name)."""
    lab = load_config(REPO / "grading_config.py").course.lab("core_mnist")
    return CourseLayout(REPO).release(lab).parent


def test_runtime_installs_offline_and_loads_mnist_with_numpy_only(tmp_path, release_folder,
                                                                   mnist_data_dir):
    python = fresh_environment(tmp_path / "venv", ["numpy"], absent=INSTRUCTOR_PACKAGES)
    seconds = _install_wheel(python, release_folder)
    print(f"installed the student wheel offline in {seconds:.1f} s")
    imports = sorted({line.strip() for lab in COURSE.assignments
                      for cell in nbformat.read(str(CourseLayout(REPO).release(lab)),
                                                as_version=4).cells
                      for line in cell.source.splitlines() if "gpukit_student" in line
                      and line.startswith(("from ", "import "))})
    assert imports, "the release notebooks import the runtime"
    script = "\n".join([
        *imports,
        "import importlib.util, json, sys",
        "from gpukit_student import install_cell_clock, load_mnist",
        "(x_train, y_train), (x_test, y_test) = load_mnist()",
        "install_cell_clock('train_time')  # outside Jupyter, without IPython: nothing to time",
        "absent = [m for m in " + repr([*INSTRUCTOR_PACKAGES, "tensorflow", "torch", "tqdm"])
        + " if importlib.util.find_spec(m) is None]",
        "import gpukit_student",
        "print(json.dumps({'shapes': [x_train.shape, x_test.shape], 'absent': absent,",
        "                  'runtime': gpukit_student.__file__}))",
    ])
    done = subprocess.run([python, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "GPUKIT_DATA_DIR": str(mnist_data_dir)},
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["shapes"] == [[60000, 28, 28], [10000, 28, 28]]
    assert seen["absent"] == [*INSTRUCTOR_PACKAGES, "tensorflow", "torch", "tqdm"]
    assert seen["runtime"].startswith(str(tmp_path / "venv"))  # the installed wheel
    verify = subprocess.run([python.parent / "gpukit-data", "verify", "mnist", "--data-dir",
                             str(mnist_data_dir)], capture_output=True, text=True)
    assert verify.returncode == 0 and "All 4 files are present and valid." in verify.stdout


def _runtime_cells(notebook) -> list:
    """The given cells that import or call the runtime (the setup cell, data loading)."""
    names = ("gpukit_student", *(n for n in gpukit_student.__all__ if not n.startswith("_")))
    return [cell for cell in notebook.cells if cell.cell_type == "code"
            and not cell.metadata.get("nbgrader", {}).get("solution")
            and not cell.metadata.get("nbgrader", {}).get("grade")
            and any(re.search(rf"\b{name}\b", cell.source) for name in names)]


@pytest.mark.slow
def test_given_cells_run_in_a_kernel_of_a_student_environment(tmp_path, mnist_data_dir,
                                                              monkeypatch):
    """Every release notebook's cells that use the runtime, in a Jupyter kernel of a fresh
    environment holding the frameworks, ipykernel and the installed wheel, and nothing of the
    instructor's."""
    python = fresh_environment(tmp_path / "venv", STUDENT_KERNEL_MODULES,
                               absent=INSTRUCTOR_PACKAGES)
    kernels = tmp_path / "jupyter" / "kernels" / "student-env"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "a student's environment", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    data = tmp_path / "data"
    data.mkdir()
    (data / "mnist").symlink_to(mnist_data_dir / "mnist")
    write_fashion_standin(data)
    monkeypatch.setenv("GPUKIT_DATA_DIR", str(data))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    ran = {}
    for lab in COURSE.assignments:
        release = CourseLayout(REPO).release(lab)
        notebook = nbformat.read(str(release), as_version=4)
        cells = _runtime_cells(notebook)
        if not cells:
            continue
        folder = tmp_path / lab.name
        folder.mkdir()
        if not ran:  # one environment: installed once, from the first lab's folder
            _install_wheel(python, release.parent)
        # ... and then one of ours: the training images were loaded through the runtime.
        notebook.cells = [*cells, nbformat.v4.new_code_cell("print('x_train', x_train.shape)")]
        NotebookClient(notebook, kernel_name="student-env", timeout=300,
                       resources={"metadata": {"path": str(folder)}}).execute()
        ran[lab.name] = [cell.id for cell in cells]
        loaded = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
        assert loaded.startswith("x_train (") and ", 28, 28)" in loaded, lab.name
    assert ran == {"core_mnist": ["setup", "load_data"], "fashion_ann": ["setup"],
                   "cpu_vs_gpu": ["setup"]}
