"""nbgrader's configuration, derived from grading_config.py.

The course root's ``nbgrader_config.py`` is a two-line shim that calls :func:`configure`, so
nbgrader (run by gpukit or by hand) always sees exactly what grading_config.py says and there is no
second file to keep in step.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

from gpukit.config import CONFIG_FILE_NAME, LoadedConfig, load_config
from gpukit.course.layout import CourseLayout
from gpukit.grading.autograder import AUTOGRADER_VARIABLE
from gpukit.labs import instructor_files
from gpukit.sandbox import kernelspec
from gpukit.sandbox.settings import VARIABLE as SANDBOX_VARIABLE
from gpukit.sandbox.settings import SandboxSettings

SHIM = '''\
# nbgrader reads this file. Do not edit it: every setting is derived from grading_config.py
# (see gpukit/pipeline/nbgrader_settings.py).
from gpukit.pipeline.nbgrader_settings import configure

configure(get_config(), __file__)  # noqa: F821  (nbgrader defines get_config)
'''


def configure(c, nbgrader_config_file: str) -> LoadedConfig:
    """Fill nbgrader's traitlets config ``c`` from the grading_config.py beside this file."""
    loaded = load_config(Path(nbgrader_config_file).resolve().parent / CONFIG_FILE_NAME)
    course = loaded.course
    c.CourseDirectory.course_id = course.course_id
    c.CourseDirectory.root = str(loaded.root)
    c.CourseDirectory.solution_directory = "solutions"
    c.CourseDirectory.db_url = loaded.gradebook_url

    # Per-cell limit when nbgrader executes a notebook (autograde, validate).
    c.Execute.timeout = course.cell_timeout_s
    c.ExecutePreprocessor.timeout = course.cell_timeout_s

    # Solutions are published without outputs: executing them would retrain every model on each
    # release and make the committed files differ run to run (timings, losses). They are also
    # published without hidden tests, since instructors hand solutions out after the deadline.
    from nbgrader.preprocessors import (
        ClearHiddenTests,
        ClearMarkScheme,
        ClearOutput,
        Execute,
        IncludeHeaderFooter,
        LockCells,
        SaveAutoGrades,
    )
    c.GenerateSolution.preprocessors = [IncludeHeaderFooter, LockCells, ClearOutput,
                                        ClearMarkScheme, ClearHiddenTests]

    # TensorFlow and PyTorch warnings on stderr must not zero a test cell, and feedback must not
    # show the hidden tests that autograding restored.
    from nbgrader.converters.autograde import Autograde
    from nbgrader.converters.generate_feedback import GenerateFeedback

    from gpukit.pipeline.preprocessors import (
        HideHiddenTests,
        HoldForReview,
        LimitedExecute,
        RebuildOnRelease,
        ScanForTampering,
        StderrIsNotFailure,
        VerifyCheckOutcomes,
    )

    # Every step that decides a grade is nbgrader's own (gpukit/pipeline/preprocessors.py), so
    # `nbgrader autograde`, formgrader's Autograde button and `gpukit grade` grade alike. The
    # rebuild comes first: nbgrader's own sanitizing needs the release's cell metadata.
    sanitize = Autograde.class_traits()["sanitize_preprocessors"].default()
    c.Autograde.sanitize_preprocessors = [RebuildOnRelease, *sanitize, ScanForTampering]
    c.RebuildOnRelease.release_directory = str(CourseLayout(loaded.root).root / "release")
    steps = Autograde.class_traits()["autograde_preprocessors"].default()
    steps[steps.index(Execute)] = LimitedExecute
    steps.insert(steps.index(SaveAutoGrades), StderrIsNotFailure)
    steps.insert(steps.index(SaveAutoGrades), VerifyCheckOutcomes)
    steps.insert(steps.index(SaveAutoGrades) + 1, HoldForReview)  # on the saved grades
    c.Autograde.autograde_preprocessors = steps
    c.LimitedExecute.cell_output_limit_kb = course.cell_output_limit_kb
    # The notebook has run and its outputs are kept: the kernel is ended at once, not asked to
    # end and waited for (a grading kernel owes nothing to what it leaves behind).
    c.LimitedExecute.shutdown_kernel = "immediate"
    _grade_in_sandbox(c, loaded)
    feedback = GenerateFeedback.class_traits()["preprocessors"].default()
    c.GenerateFeedback.preprocessors = [feedback[0], HideHiddenTests, *feedback[1:]]
    # A feedback page shows the student's markup to whoever opens it: cleaned, and under a
    # Content-Security-Policy that runs no script (feedback_exporter.py).
    from gpukit.pipeline.feedback_exporter import FeedbackExporter, find_nbconvert_templates

    c.GenerateFeedback.exporter_class = FeedbackExporter
    # formgrader's grading pages use a plain HTMLExporter of this configuration: the student's
    # markdown and HTML outputs cleaned there too (gpukit/safe_html.py).
    c.HTMLExporter.sanitize_html = True
    from gpukit.safe_html import CLEANING_FILTERS

    c.HTMLExporter.filters = {name: f"{function.__module__}.{function.__name__}"
                              for name, function in CLEANING_FILTERS.items()}
    find_nbconvert_templates()  # an install with `pip install --target` keeps them elsewhere

    # Kernels started by nbgrader inherit this process's environment: that is how the notebooks'
    # load_mnist() finds the configured data directory, and the hidden checks the course's
    # autograder/, without any path in the notebook.
    os.environ.update(kernel_variables(loaded))
    return loaded


def kernel_variables(loaded: LoadedConfig) -> dict[str, str]:
    """What a grading kernel is told of the course: where the data and the autograder are."""
    return {"GPUKIT_DATA_DIR": str(loaded.data_dir),
            AUTOGRADER_VARIABLE: str(CourseLayout(loaded.root).autograder)}


def _grade_in_sandbox(c, loaded: LoadedConfig) -> None:
    """Autograde in the gpukit-sandbox kernel (gpukit/sandbox/), whatever the notebook names.

    The kernel talks to nbgrader over Unix sockets ("ipc"), which keep working inside the
    kernel's network namespace, where there is no network at all.
    """
    kernelspec.install(loaded.root)
    c.LimitedExecute.kernel_name = kernelspec.KERNEL_NAME
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = socket_path()
    os.environ[SANDBOX_VARIABLE] = sandbox_settings(loaded).to_env()


def socket_path() -> str:
    """Where a process's grading kernels put their Unix sockets.

    Unix socket paths must be absolute (nbgrader and the kernel have different working
    directories), short (108 bytes at most) and writable by the kernel: not the course. One
    directory per process: jupyter_client numbers ipc sockets by looking for free file names,
    which races when two gradings run at once (seen: "Invalid Signature")."""
    base = Path(tempfile.gettempdir()) / f"gpukit-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    sockets = tempfile.mkdtemp(prefix="k", dir=base)
    atexit.register(shutil.rmtree, sockets, ignore_errors=True)
    return os.path.join(sockets, "kernel")


def sandbox_settings(loaded: LoadedConfig) -> SandboxSettings:
    """The grading kernel's limits and walls: the course's limits; the course hidden but its
    autograder/, the data and the grader's Python environment, read-only."""
    course, layout, environment = loaded.course, CourseLayout(loaded.root), grader_environment()
    hidden = [*hidden_from_kernels(loaded), *instructor_files(course_lab_folders(loaded))]
    return SandboxSettings(
        memory_limit_mb=course.memory_limit_mb, process_limit=course.process_limit,
        isolate=course.sandbox, read_only=[str(loaded.data_dir), *map(str, environment)],
        hidden=[str(path) for path in hidden],
        shown=[str(path) for path in [*layout.shown_to_kernels(), loaded.data_dir,
                                      *environment]])


def grader_environment() -> list[Path]:
    """The Python the grading kernels run on and the kit's own code, wherever they live.

    Read-only in the kernel: a notebook that runs ``pip install`` (Colab habit) or writes into
    site-packages must not change what later kernels import (the grader's gpukit_student above
    all), even when the environment lies outside the course directory.
    """
    import site

    import gpukit
    import gpukit_student

    paths = [Path(sys.prefix), Path(sys.base_prefix), Path(site.getusersitepackages()),
             Path(gpukit.__file__).parent, Path(gpukit_student.__file__).parent]
    return [path for path in dict.fromkeys(paths) if path.exists()]


def hidden_from_kernels(loaded: LoadedConfig) -> list[Path]:
    """What no grading kernel may see of a course: the course itself
    (CourseLayout.private_to_grader) and its gradebook wherever gradebook_url keeps it."""
    gradebook = [loaded.gradebook_file] if loaded.gradebook_file is not None else []
    return [*CourseLayout(loaded.root).private_to_grader(), *gradebook]


def course_lab_folders(loaded: LoadedConfig) -> list[Path]:
    """The folders of the course's own labs (gpukit new-lab), which its labs/ holds."""
    labs = CourseLayout(loaded.root).labs
    return [lab.folder for lab in loaded.course.assignments if lab.folder.is_relative_to(labs)]


def write_shim(root: Path) -> Path:
    """Write the course's nbgrader_config.py (always the same text)."""
    path = root / "nbgrader_config.py"
    path.write_text(SHIM)
    return path
