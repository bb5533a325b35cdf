"""The `gpukit` command line, run as a user runs it (a subprocess)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

COMMANDS = ["config", "render", "release", "grade", "demo", "report", "export", "similarity",
            "gradescope-autograder", "data", "data fetch", "data verify"]


def gpukit(*args: str, cwd=REPO, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gpukit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_top_level_help_lists_every_command():
    done = gpukit("--help")
    assert done.returncode == 0
    for command in ("config", "render", "release", "grade", "demo", "report", "export",
                    "gradescope-autograder", "data"):
        assert command in done.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    done = gpukit(*command.split(), "--help")
    assert done.returncode == 0 and "usage: gpukit" in done.stdout


def test_config_prints_every_setting():
    done = gpukit("config")
    assert done.returncode == 0, done.stderr
    assert "grading_config.py is valid" in done.stdout
    assert "assignments[0].keras_accuracy_threshold = 0.97" in done.stdout


def test_bad_config_gives_a_message_not_a_traceback(write_config, tmp_path):
    write_config('course_id="c1", gpu_policy="always", assignments=[core_mnist.Lab()]')
    done = gpukit("config", cwd=tmp_path)
    assert done.returncode == 1
    assert "gpu_policy = 'always' is invalid" in done.stderr
    assert "'require', 'prefer', 'ignore'" in done.stderr
    assert "Traceback" not in done.stderr


def test_render_outside_a_course_says_where_to_run(tmp_path):
    done = gpukit("render", cwd=tmp_path)
    assert done.returncode == 1
    assert "No grading_config.py" in done.stderr and "What to do:" in done.stderr


def test_render_writes_the_master_notebook(write_config, tmp_path):
    write_config('course_id="c1", assignments=[core_mnist.Lab(name="week1")]')
    done = gpukit("render", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "source" / "week1" / "core_mnist.ipynb").is_file()


def test_missing_dataset_tells_how_to_get_it(tmp_path):
    done = gpukit("data", "verify", "mnist", "--data-dir", str(tmp_path))
    assert done.returncode == 1
    assert "MISSING  train-images-idx3-ubyte" in done.stdout
    assert f"gpukit-data fetch mnist --data-dir {tmp_path}" in done.stdout


def test_real_mnist_verifies(mnist_data_dir):
    done = gpukit("data", "verify", "mnist", "--data-dir", str(mnist_data_dir))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("  ok  ") == 4
    assert "All 4 files are present and valid." in done.stdout


def test_a_report_before_any_grading_says_what_to_do(write_config, tmp_path):
    write_config('course_id="c1", assignments=[core_mnist.Lab()]')
    done = gpukit("report", cwd=tmp_path)
    assert done.returncode == 1
    assert "Nothing graded yet" in done.stderr and "gpukit grade" in done.stderr
