"""The grader proves itself before it grades anyone: pre-flight checks, then a canary.

Pre-flight: the assignment's autograder/ is what `gpukit release` writes now (not stale, not
edited by hand: it is what grades); the lab's datasets are present and verify against their
checksums; the sandbox's isolation works here (or its absence is said); the GPU policy can be
met. Then the **canary**: the lab's own solution notebook is graded through the very path the
students' notebooks take.
It must get every automatic point (GPU-only checks skipped under the policy aside); if it does
not, the environment is at fault, and grading stops before a single student is blamed for it.
A canary that passed is remembered in the output folder with the grader's version, so a rerun
with the same grader does not grade it again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from gpukit.batch.job import GradingJob, JobResult
from gpukit.batch.writer import record_of
from gpukit.config import Lab, LoadedConfig
from gpukit.course.datasets import check_datasets
from gpukit.course.layout import CourseLayout
from gpukit.errors import GpukitError
from gpukit.release.autograder import stale_autograder

CANARY = "canary-solution"
CANARY_FILE = ".canary.json"


def preflight(loaded: LoadedConfig, lab: Lab, *, cluster_gpus: float | None = None,
              say: Callable[[str], None] = print) -> None:
    """Stop with what to do when the lab cannot be graded here; say what was checked."""
    try:
        check_datasets(loaded, lab, say=lambda line: say(f"pre-flight: {line}"))
    except GpukitError as error:
        message = error.message[0].lower() + error.message[1:]
        raise GpukitError(f"Pre-flight: {message}", hint=error.hint) from None
    say(f"pre-flight: sandbox {sandbox_state()}")
    check_feedback_rendering()
    say("pre-flight: a feedback page renders")
    gpu = cluster_gpus if cluster_gpus is not None else _local_gpu()
    if loaded.course.gpu_policy == "require" and not gpu:
        say("pre-flight: gpu_policy='require' and no GPU here: the GPU-only checks score 0 and "
            "every submission is listed for a GPU regrade")
    else:
        say(f"pre-flight: {'a GPU' if gpu else 'no GPU'} here, gpu_policy="
            f"{loaded.course.gpu_policy!r}")


def check_autograder(loaded: LoadedConfig, lab: Lab,
                     say: Callable[[str], None] = print) -> None:
    """Stop unless autograder/<assignment>/ is exactly what release writes now: it is what
    grades. (Always checked, pre-flight or not: it costs a few file reads.)"""
    stale = stale_autograder(loaded, lab)
    if stale:
        raise GpukitError(
            f"Pre-flight: the checks that grade {lab.name} are not what `gpukit release` writes "
            f"from the course now: {', '.join(stale)} "
            f"{'is' if len(stale) == 1 else 'are'} missing, out of date or edited by hand. "
            "Nothing was graded.",
            hint="Run `gpukit release` to write autograder/ again (change a check in the lab's "
            "checks.py, a threshold or points in grading_config.py, never in autograder/).")
    say(f"pre-flight: autograder/{lab.name}/ is the released one")


def check_feedback_rendering() -> None:
    """Render one feedback page as grading will: a broken nbconvert install stops the batch
    here, before any grading, rather than after every notebook has run."""
    from gpukit.batch.nbgrader_job import last_exception
    from gpukit.pipeline.feedback_exporter import find_nbconvert_templates, render_probe_page

    find_nbconvert_templates()
    try:
        render_probe_page()
    except Exception:  # whatever nbconvert raises: reported with its words, nothing graded
        raise GpukitError(
            "Pre-flight: nbconvert cannot render a feedback page here "
            f"({last_exception(traceback.format_exc())}). Nothing was graded: every submission "
            "would have been graded without its feedback.",
            hint="nbconvert's templates are missing from Jupyter's data path: reinstall "
            "nbconvert into this Python (pip install --force-reinstall nbconvert), or set "
            "JUPYTER_PATH to the share/jupyter folder of the environment it was installed into "
            "(with pip install --target DIR: DIR/share/jupyter).") from None


def sandbox_state() -> str:
    """Whether this machine lets a grading kernel enter its namespaces (no network, walls)."""
    probe = ("import os\nfrom gpukit.sandbox.isolation import isolate\n"
             "isolate([], [], os.getcwd())\nprint('ok')")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)
    if done.returncode == 0 and done.stdout.strip() == "ok":
        return ("isolation works (no network; the course hidden but what the checks need, "
                "other students too)")
    reason = (done.stderr.strip().splitlines() or ["unknown reason"])[-1]
    return (f"isolation UNAVAILABLE ({reason}): kernels run with the limits but without network "
            "and file isolation (see THREAT_MODEL.md)")


def _local_gpu() -> bool:
    done = subprocess.run([sys.executable, "-c",
                           "import torch; print(torch.cuda.is_available())"],
                          capture_output=True, text=True, timeout=300)
    return done.stdout.strip().endswith("True")


def canary_job(loaded: LoadedConfig, lab: Lab) -> GradingJob:
    """The lab's solution, as a submission: the instructor's master notebook, whose answer cells
    hold the solutions (the rebuild on the release takes them; the hidden tests it also holds
    are the release's anyway)."""
    master = CourseLayout(loaded.root).source(lab)
    return GradingJob(CANARY, lab.name, master.read_bytes())


def canary_passed_before(output: Path, version: str) -> bool:
    path = output / CANARY_FILE
    try:
        return json.loads(path.read_text()).get("version") == version
    except (OSError, ValueError):
        return False


def judge_canary(loaded: LoadedConfig, lab: Lab, result: JobResult, output: Path,
                 version: str) -> None:
    """Stop the batch when the solution did not get every automatic point."""
    record = record_of(loaded, lab, result)
    problems = [f"{c.check}: {c.message or c.status}" for c in record.checks
                if c.status not in ("passed", "skipped", "needs_gpu")]
    if record.status not in ("graded",) or problems or not record.checks:
        why = "; ".join(problems) or f"{record.status}: {record.message}"
        raise GpukitError(
            f"The canary failed: the lab's own solution notebook, graded as a submission, did "
            f"not get full marks ({why}). The grading environment is at fault, not the "
            "students: nothing was graded.",
            hint="Fix the cause (the message names the check or the cell), run `gpukit grade` "
            "again; `gpukit release` if the lab changed. Every check must pass on the solution.")
    (output / CANARY_FILE).write_text(json.dumps({"version": version,
                                                  "seconds": result.seconds}))
