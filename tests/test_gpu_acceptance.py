"""scripts/gpu-acceptance in its reduced form, as CI runs it on a machine without a GPU, in an
environment like the bare GPU machine's (PyTorch and NumPy, no TensorFlow, nbgrader, Jupyter or
pytest): every CPU path passes on the reference and fails on its wrong variant; every GPU part
is reported skipped, never passed."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import torch

from tests.conftest import REPO
from tests.environments import fresh_environment

# What a GPU machine with "Python and PyTorch" has: torch (with what its compiler imports) and
# NumPy. What it lacks, and the script must not need:
BARE_MACHINE = ["torch", "torch._dynamo", "numpy"]
ABSENT = ("tensorflow", "keras", "nbgrader", "nbformat", "nbclient", "jupyter_client",
          "ipykernel", "pytest", "ray")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def acceptance(tmp_path_factory, mnist_data_dir) -> dict:
    work = tmp_path_factory.mktemp("acceptance")
    python = fresh_environment(work / "venv", BARE_MACHINE, absent=ABSENT, with_pip=False)
    out = work / "out"
    done = subprocess.run([str(REPO / "scripts" / "gpu-acceptance"), str(out), "--quick",
                           "--repeat", "1", "--data-dir", str(mnist_data_dir)],
                          capture_output=True, text=True, timeout=1200,
                          env={**os.environ, "PYTHON": str(python)})
    results = json.loads((out / "results.json").read_text())
    return {"done": done, "results": results, "table": (out / "results.md").read_text()}


def test_it_runs_without_a_failure(acceptance):
    done = acceptance["done"]
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert acceptance["results"]["counts"]["failed"] == 0


def test_every_lab_has_its_reference_checks_and_wrong_variants(acceptance):
    items = {(r["lab"], r["item"]): r["status"] for r in acceptance["results"]["results"]}
    labs = {lab for lab, _ in items}
    assert labs == {"lab1 mnist", "lab2 gpu basics", "lab3 fashion ann", "lab4 cpu vs gpu"}
    wrong = [key for key in items if " fails: " in key[1]]
    assert len(wrong) >= 8
    cpu_wrong = [key for key in wrong if items[key] == "passed"]
    assert len(cpu_wrong) >= 4  # caught on the CPU path too, not only skipped


@pytest.mark.skipif(torch.cuda.is_available(), reason="the reduced form is for CPU machines")
def test_gpu_parts_are_skipped_never_passed(acceptance):
    results = acceptance["results"]["results"]
    gpu = [r for r in results if r["gpu_only"]]
    assert len(gpu) >= 10 and all(r["status"] == "skipped" for r in gpu), gpu
    repeated = [r["item"] for r in gpu if r["item"].startswith("gpu_timing x1 on a ")]
    assert len(repeated) == 2  # --repeat: a cold and a warm GPU
    assert acceptance["results"]["machine"]["gpu"] is None
    assert "| skipped |" in acceptance["table"]


def test_the_end_to_end_harness_grades_a_sample_class_as_its_table_says(tmp_path,
                                                                         mnist_data_dir):
    """--grade in its CPU form: three of lab 2's sample submissions through `gpukit grade`
    (sandbox on), compared with the table's CPU rows; on a GPU machine the same run compares
    with its GPU rows."""
    students = "reference-solution,untouched-release,device-hardcoded-cpu"
    done = subprocess.run([str(REPO / "scripts" / "gpu-acceptance"), str(tmp_path), "--grade",
                           "gpu_basics", "--grade-only", "--students", students, "--data-dir",
                           str(mnist_data_dir)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (line,) = json.loads((tmp_path / "results.json").read_text())["results"]
    assert (line["status"], line["detail"]) == ("passed", "3 of 3 as the table says")
    assert (tmp_path / "gpu_basics-grades.csv").read_text().count("\n") == 4
