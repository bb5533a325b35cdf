"""The sandbox kernel, started by the real jupyter_client as nbgrader starts it.

Each test runs a few statements in a real gpukit-sandbox kernel (no TensorFlow: seconds, not
minutes) and looks at what the kernel could do, or what its supervisor did to it. Isolation
needs Linux namespaces; where the platform refuses them the isolation tests are skipped with the
reason, and the rest still run.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager

import gpukit
import gpukit_student
from gpukit.course.layout import CourseLayout
from gpukit.labs import instructor_files
from gpukit.pipeline.nbgrader_settings import grader_environment
from gpukit.sandbox import kernelspec
from gpukit.sandbox.settings import VARIABLE, SandboxSettings


class Kernel:
    """A started sandbox kernel; ``run(code)`` returns its stdout, errors and the kernel's log."""

    def __init__(self, course: Path, workdir: Path, settings: SandboxSettings, log: Path):
        kernelspec.install(course)
        os.environ[VARIABLE] = settings.to_env()
        sockets = Path(tempfile.mkdtemp(prefix="gpukit-test-"))
        self.log = log
        self.manager = KernelManager(kernel_name=kernelspec.KERNEL_NAME, transport="ipc",
                                     ip=str(sockets / "k"))
        with log.open("w") as handle:  # the supervisor writes the kernel's log to stderr
            self.manager.start_kernel(cwd=str(workdir), stderr=handle, stdout=handle)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 60) -> tuple[str, list[str]]:
        out, errors = [], []

        def hook(message):
            content = message["content"]
            if message["msg_type"] == "stream":
                out.append(content["text"])
            elif message["msg_type"] == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")

        self.client.execute_interactive(code, timeout=timeout, output_hook=hook)
        return "".join(out), errors

    def close(self) -> None:
        self.client.stop_channels()
        if self.manager.is_alive():
            self.manager.shutdown_kernel(now=True)


@pytest.fixture
def course(tmp_path):
    root = tmp_path / "course"
    workdir = root / "autograded" / "alice" / "lab"
    workdir.mkdir(parents=True)
    files = {"grading_config.py": "config = None\n",
             "labs/mylab/checks.py": "def test_x():\n    pass\n",
             "autograder/lab/test_lab.py": "def test_x():\n    pass\n",
             "labs/mylab/notebook.nb.j2": "### BEGIN SOLUTION\n",
             "source/lab/lab.ipynb": "### BEGIN SOLUTION\n",
             "solutions/lab/lab.ipynb": "### BEGIN SOLUTION\n",
             ".git/objects/ab/cdef": "### BEGIN SOLUTION\n",
             "submitted/bob/lab.ipynb": "{}",
             "gradebook.db": "SQLite format 3\0"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "autograded" / "bob").mkdir()
    return root


@pytest.fixture
def start(course, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", "")
    monkeypatch.delenv(VARIABLE, raising=False)
    kernels = []
    layout = CourseLayout(course)

    def start(**settings) -> Kernel:
        # The course's walls as nbgrader_settings.configure() builds them.
        defaults = dict(
            hidden=[str(p) for p in (*layout.private_to_grader(),
                                     *instructor_files([course / "labs" / "mylab"]))],
            shown=[str(p) for p in layout.shown_to_kernels()])
        kernel = Kernel(course, course / "autograded" / "alice" / "lab",
                        SandboxSettings(**{**defaults, **settings}), tmp_path / "kernel.log")
        kernels.append(kernel)
        return kernel

    yield start
    for kernel in kernels:
        kernel.close()


def isolated(kernel: Kernel) -> None:
    out, _ = kernel.run("import os; print(os.environ.get('GPUKIT_SANDBOX_APPLIED', ''))")
    if "no network" not in out:
        log = kernel.log.read_text()[-300:]
        if "unshare" not in log:  # the platform allowed namespaces: a mount of ours failed
            pytest.fail(f"isolation failed: {log}")
        pytest.skip(f"namespaces refused on this platform: {log}")


def test_the_course_is_hidden_but_what_the_checks_need(start, course):
    """The kernel sees the course's autograder/ (the checks and their settings), read-only, and
    its own folder, writable: no settings file, lab folder, master notebook, solution, history,
    gradebook or other student."""
    kernel = start()
    isolated(kernel)
    out, errors = kernel.run(
        "import os, pathlib\n"
        f"root = pathlib.Path({str(course)!r})\n"
        "print(sorted(os.listdir(root)), sorted(os.listdir(root / 'autograded')))\n"
        "print((root / 'autograder' / 'lab' / 'test_lab.py').read_text().splitlines()[0])\n"
        "print([name for name in ('grading_config.py', 'labs') if (root / name).exists()])\n"
        "pathlib.Path('mine.txt').write_text('ok')\n"
        "(root / 'autograder' / 'lab' / 'test_lab.py').write_text('')\n")
    assert out.splitlines() == ["['autograded', 'autograder'] ['alice']", "def test_x():", "[]"]
    assert errors == ["OSError: [Errno 30] Read-only file system: "
                      f"'{course / 'autograder' / 'lab' / 'test_lab.py'}'"]
    assert (course / "autograded" / "alice" / "lab" / "mine.txt").read_text() == "ok"
    assert (course / "autograder" / "lab" / "test_lab.py").read_text().startswith("def test_x")


def test_the_kits_instructor_files_are_hidden_and_its_checks_readable(start):
    """The kit's lab folders hold every solution (templates, fixtures, demo class): hidden
    wherever the kit is installed; the checks the kernel runs stay readable."""
    kernel = start()
    isolated(kernel)
    out, errors = kernel.run(
        "import os, pathlib, gpukit.labs\n"
        "lab = pathlib.Path(gpukit.labs.__file__).parent / 'gpu_basics'\n"
        "print(len((lab / 'notebook.nb.j2').read_bytes()), os.listdir(lab / 'fixtures'),\n"
        "      os.listdir(lab / 'demo'), os.listdir(lab.parent / '_scaffold'))\n"
        "print((lab / 'checks.py').read_text().count('def test_') > 3)\n")
    assert errors == []
    assert out.splitlines() == ["0 [] [] []", "True"]


def test_there_is_no_network(start):
    kernel = start()
    isolated(kernel)
    out, _ = kernel.run("import socket; print([name for _, name in socket.if_nameindex()])\n"
                        "s = socket.socket(); s.settimeout(2)\n"
                        "print(s.connect_ex(('127.0.0.1', 22)) != 0)")
    assert out.splitlines() == ["['lo']", "True"]


def test_without_isolation_the_course_stays_writable(start, course):
    kernel = start(isolate=False)
    out, errors = kernel.run("import os; print(os.environ.get('GPUKIT_SANDBOX_APPLIED'))\n"
                             f"open({str(course / 'gradebook.db')!r}, 'ab').write(b'x')")
    assert (out.strip(), errors) == ("None", [])
    assert (course / "gradebook.db").read_bytes().endswith(b"x")


def test_the_supervisor_stops_a_kernel_past_the_process_limit(start):
    kernel = start(isolate=False, process_limit=8)
    with contextlib.suppress(Exception):  # the kernel dies under the running cell
        kernel.run("import os, time\n"
                   "for _ in range(20):\n"
                   "    if os.fork() == 0:\n"
                   "        time.sleep(30); os._exit(0)\n"
                   "time.sleep(30)", timeout=10)
    assert not kernel.manager.is_alive()
    assert "stopped the kernel: it ran more than 8 processes" in kernel.log.read_text()


def test_the_supervisor_stops_a_kernel_past_the_memory_limit(start):
    kernel = start(isolate=False, memory_limit_mb=1500)
    with contextlib.suppress(Exception):
        kernel.run("import numpy as np, time\n"
                   "hoard = [np.ones(16 << 20) for _ in range(28)]\n"  # 128 MB each, 3.5 GB
                   "time.sleep(30)", timeout=10)
    assert not kernel.manager.is_alive()
    assert "stopped the kernel: it used" in kernel.log.read_text()
    assert "more than memory_limit_mb = 1500" in kernel.log.read_text()


def test_the_integrity_baseline_sees_tampering_but_not_normal_work(start):
    kernel = start(isolate=False)
    out, _ = kernel.run("from gpukit.grading import integrity\n"
                        "import torch, time\n"
                        "x = torch.ones(3).sum(); time.sleep(0.01)\n"
                        "print(integrity.verify())")
    assert out.strip() == "[]"
    # PyTorch's own tutorial idiom: torch.compile wraps nn.Module.__init__ and __setstate__
    out, _ = kernel.run("compiled = torch.compile(torch.nn.Linear(2, 2), backend='eager')\n"
                        "compiled(torch.ones(1, 2))\n"
                        "print(torch.nn.Module.__init__.__module__, integrity.verify())")
    assert out.strip() == "torch._dynamo.mutation_guard []"
    out, _ = kernel.run("_init = torch.nn.Module.__init__\n"
                        "def _mine(self, *a, **k):\n"
                        "    _init(self, *a, **k)\n"
                        "torch.nn.Module.__init__ = _mine\n"
                        "print(integrity.verify())\n"
                        "torch.nn.Module.__init__ = _init")
    assert "torch.nn.Module.__init__ was replaced or deleted" in out  # a wrapper of its own
    out, _ = kernel.run("time.perf_counter = lambda: 0.0\n"
                        "get_ipython().events.register('post_run_cell', lambda result: None)\n"
                        "print(integrity.verify())")
    assert "time.perf_counter was replaced or deleted" in out
    assert "a post_run_cell event hook defined in the notebook was registered" in out


def test_a_runtime_handed_in_beside_the_notebook_is_never_imported(start, course):
    """A submission folder may hold a `gpukit_student/` (or `gpukit/`) of the student's: the
    kernel imports the grader's own, installed ones, and students' other modules still work."""
    workdir = course / "autograded" / "alice" / "lab"
    for package in ("gpukit_student", "gpukit"):
        (workdir / package).mkdir()
        (workdir / package / "__init__.py").write_text(
            "raise SystemExit('the copy handed in was imported')\n")
    (workdir / "helpers.py").write_text("ANSWER = 42\n")
    kernel = start(isolate=False)
    out, errors = kernel.run("import gpukit, gpukit_student\n"
                             "from gpukit_student import load_mnist\n"
                             "from gpukit_student.data import loader\n"
                             "from helpers import ANSWER\n"
                             "print(gpukit_student.__file__, gpukit.__file__, loader.__file__)\n"
                             "print(ANSWER)")
    assert errors == []
    runtime, kit, loader, answer = out.split()
    assert (runtime, kit) == (gpukit_student.__file__, gpukit.__file__)
    assert loader.startswith(str(Path(gpukit_student.__file__).parent))
    assert answer == "42"  # the folder stays importable for the student's own modules


def test_the_graders_python_environment_is_read_only(start, course):
    """`%pip install` or a write into site-packages cannot change what later kernels import."""
    runtime = Path(gpukit_student.__file__).parent
    kernel = start(read_only=[*map(str, grader_environment())])
    isolated(kernel)
    out, errors = kernel.run("import pathlib, sysconfig\n"
                             f"pathlib.Path({str(runtime / 'sneaky.py')!r}).write_text('')\n")
    assert errors and "Read-only file system" in errors[0]
    assert not (runtime / "sneaky.py").exists()
    out, errors = kernel.run("import sysconfig\n"
                             "site = pathlib.Path(sysconfig.get_paths()['purelib'])\n"
                             "(site / 'sneaky.pth').write_text('')\n")
    assert errors and "Read-only file system" in errors[0]
