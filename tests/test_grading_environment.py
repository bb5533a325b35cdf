"""Faults of the grading environment: found before grading, and never blamed on a student.

nbconvert's templates are data files that an install with `pip install --target DIR` (a cluster
image; the GPU machine's recipe) leaves in DIR/share/jupyter, where Jupyter does not look: every
feedback page failed after its notebook had been graded, and the records blamed the notebook with
the sandbox's last log line. These tests build that install from this environment's own
packages and run the real nbconvert and nbgrader on it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from gpukit.batch.nbgrader_job import last_exception
from gpukit.batch.writer import failure_of
from tests.conftest import REPO

SITE = Path(sysconfig.get_paths()["purelib"])
TEMPLATES = Path(sys.prefix) / "share" / "jupyter" / "nbconvert"

PROBE = """
from gpukit.batch.preflight import check_feedback_rendering
from gpukit.errors import GpukitError
try:
    check_feedback_rendering()
    print("renders")
except GpukitError as error:
    print(error)
"""


def target_install(folder: Path, *, with_templates: bool) -> Path:
    """nbconvert as `pip install --target folder` lays it out, from this environment's files."""
    (folder / "nbconvert").symlink_to(SITE / "nbconvert")
    if with_templates:
        (folder / "share" / "jupyter").mkdir(parents=True)
        (folder / "share" / "jupyter" / "nbconvert").symlink_to(TEMPLATES)
    return folder


def run_probe(target: Path) -> str:
    """PROBE under the base interpreter (its prefix has no Jupyter data), the target first."""
    path = os.pathsep.join(map(str, (target, SITE, REPO, REPO / "student")))
    env = {**os.environ, "PYTHONPATH": path, "JUPYTER_PATH": ""}
    done = subprocess.run([str(Path(sys.base_prefix) / "bin" / "python3"), "-c", PROBE],
                          capture_output=True, text=True, env=env, cwd=target, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(not TEMPLATES.is_dir(), reason="nbconvert's templates are not in sys.prefix")
def test_a_target_install_finds_its_own_templates(tmp_path):
    assert run_probe(target_install(tmp_path, with_templates=True)).strip() == "renders"


@pytest.mark.skipif(not TEMPLATES.is_dir(), reason="nbconvert's templates are not in sys.prefix")
def test_pre_flight_stops_a_batch_whose_feedback_cannot_render(tmp_path):
    said = run_probe(target_install(tmp_path, with_templates=False))
    assert "Pre-flight: nbconvert cannot render a feedback page here (ValueError: No " \
           "template sub-directory with name 'classic'" in said
    assert "Nothing was graded" in said and "JUPYTER_PATH" in said


@pytest.mark.parametrize("log, status, words", [
    ("gpukit-sandbox: stopped the kernel: it ran more than 64 processes at once\n"
     "gpukit-sandbox: the kernel used at most 900 MB of memory, 65 processes",
     "error", "Grading stopped the notebook: it ran more than 64 processes"),
    ("nbclient.exceptions.DeadKernelError: Kernel died\n", "error", "kernel died"),
    ("Traceback (most recent call last):\n  File \"x.py\", line 3\n"
     "ValueError: No template sub-directory with name 'classic' found\n"
     "[AutogradeApp | ERROR] There was an error processing assignment\n"
     "gpukit-sandbox: the kernel used at most 861 MB of memory, 1 process\n",
     "environment", "nbgrader could not autograde it (ValueError: No template sub-directory "
     "with name 'classic' found). This is not your fault"),
])
def test_a_failed_autograde_names_its_cause_and_whose_it_is(log, status, words):
    found_status, message = failure_of(log)
    assert found_status == status
    assert words in message
    assert "861 MB" not in message  # the sandbox's peak is not the cause


def test_the_last_exception_of_a_log():
    log = ("Traceback (most recent call last):\n  raise RuntimeError('No end hidden tests')\n"
           "RuntimeError: No end hidden tests statement found\n"
           "[GenerateFeedbackApp | ERROR] There was an error processing assignment: x\n")
    assert last_exception(log) == "RuntimeError: No end hidden tests statement found"
    assert last_exception("") == "no error text"
