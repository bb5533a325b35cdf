"""Throughput of `gpukit grade`: one worker, two workers, and a local Ray instance, on one class.

The class is lab 1's demo class (the heaviest lab: TensorFlow and PyTorch in one kernel) plus a
second copy of the reference, six submissions. Each run is the real CLI on a fresh copy of the
demo course, timed from start to end; the canary runs once per course (its cached verdict is
removed before each run, so every run pays for it). The baseline of the overhead ratio is the
notebook's own execution: the reference solution run by nbclient in the same sandbox kernel, from
kernel start to the last cell.

Printed: wall time, submissions per hour and speed-up for each runner; the per-submission
overhead ratio (median job time with one worker / the notebook's own execution). The
projection for a whole course is in bench/README.md, from these figures.

Run: ``.venv/bin/python bench/grading_throughput.py [--data-dir DIR] [--skip-ray]``
(about 12 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from gpukit.config import load_config
from gpukit.course.layout import CourseLayout
from gpukit.demo.run import demo_submissions, prepare_demo_course
from gpukit.sandbox import kernelspec

REPO = Path(__file__).resolve().parents[1]

def grade(course_root: Path, submissions: Path, output: Path, *runner: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gpukit", "grade", str(submissions),
                           "--assignment", "core_mnist", "--output", str(output),
                           "--no-progress", *runner], cwd=course_root, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise SystemExit(done.stdout[-2000:] + done.stderr[-2000:])
    return time.perf_counter() - started


def notebook_execution(course_root: Path, solution: Path) -> float:
    """The reference notebook's own execution in the sandbox kernel (nbclient, no nbgrader)."""
    kernelspec.install(course_root)
    notebook = nbformat.read(str(solution), as_version=4)
    folder = Path(tempfile.mkdtemp())
    started = time.perf_counter()
    NotebookClient(notebook, kernel_name=kernelspec.KERNEL_NAME, timeout=600,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()
    os.environ["GPUKIT_DATA_DIR"] = str(args.data_dir.resolve())
    loaded = load_config(REPO / "grading_config.py")
    lab = loaded.course.assignment("core_mnist")
    work = Path(tempfile.mkdtemp(prefix="gpukit-bench-"))
    submissions = work / "class"
    submissions.mkdir()
    for submission in demo_submissions(REPO, lab):
        nbformat.write(submission.notebook, str(submissions / f"{submission.student}.ipynb"))
    shutil.copy(submissions / "reference-solution.ipynb", submissions / "reference-copy.ipynb")
    count = len(list(submissions.iterdir()))

    runs = {"1 worker": ["--workers", "1"], "2 workers": ["--workers", "2"]}
    if not args.skip_ray:
        runs["local Ray"] = ["--ray"]
    results = {}
    for name, runner in runs.items():
        course = prepare_demo_course(loaded, work / name.replace(" ", "-"))
        output = work / f"out-{name.replace(' ', '-')}"
        seconds = grade(course.root, submissions, output, *runner)
        records = [json.loads(p.read_text()) for p in (output / "records").glob("*.json")]
        results[name] = {"seconds": seconds,
                         "job_seconds": [r["grading_seconds"] for r in records
                                         if r["grading_seconds"]]}
        print(f"{name:10} {seconds:7.1f} s for {count} submissions (canary included): "
              f"{3600 * count / seconds:6.0f} submissions/hour", flush=True)

    course = prepare_demo_course(loaded, work / "baseline")
    baseline = notebook_execution(course.root, CourseLayout(REPO).solution(lab))
    one = results["1 worker"]
    job = statistics.median(one["job_seconds"])
    print(f"\nspeed-up with 2 workers: {one['seconds'] / results['2 workers']['seconds']:.2f}")
    if "local Ray" in results:
        print(f"speed-up through local Ray: {one['seconds'] / results['local Ray']['seconds']:.2f}")
    print(f"per-submission job (1 worker, median): {job:.1f} s; the notebook's own execution "
          f"in the same kernel: {baseline:.1f} s; overhead ratio {job / baseline:.2f}")
    print(json.dumps({"submissions": count, "baseline_s": baseline, "runs": results},
                     indent=1), file=open(work / "results.json", "w"))
    print(f"(raw figures: {work / 'results.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
