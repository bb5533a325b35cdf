"""Where a grading job's time goes, per lab, and what grading a course costs.

For every lab of the course, N copies of its reference solution are graded by `gpukit grade`'s
own code (gpukit/batch/stages.py: run_batch, the stages the CLI runs) with local workers, in a
fresh demo course. Each job's record holds where its time went (gpukit/batch/job.py: PHASES:
scratch course, nbgrader's configuration and own steps, kernel start, the notebook's own cells,
the hidden checks, kernel end, results); the table shows each phase's median per lab, the job's
median, the overhead (job minus the notebook's own cells; target: at most 2 s) and the ratio
(job / notebook). The feedback pages are made beside the jobs (gpukit/batch/feedback.py): their
median is shown apart, as are the batch's fixed stages (pre-flight, template, canary).

A 300-student course is then projected from these figures: per lab, the time of the batch's
fixed stages plus 300 jobs spread over the workers.

Run: ``.venv/bin/python bench/grading_throughput.py [--copies N] [--workers W] [--labs a,b]
[--data-dir DIR] [--json FILE]`` (about 4 minutes with 3 copies and one worker on 2 cores;
nothing else should run). ``--runners`` also compares one worker, two workers and a local Ray
instance on lab 1's demo class (about 8 more minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from gpukit.batch.job import PHASES
from gpukit.batch.runners import LocalWorkers, RayCluster
from gpukit.batch.stages import Batch, GradingOptions, run_batch
from gpukit.config import load_config
from gpukit.course.layout import CourseLayout
from gpukit.demo.run import demo_submissions, prepare_demo_course

REPO = Path(__file__).resolve().parents[1]
COURSE_SIZE = 300


def grade(loaded, lab, submissions: Path, output: Path, runner) -> Batch:
    return run_batch(Batch(loaded, lab, submissions, output, GradingOptions(runner=runner),
                           say=lambda _: None, progress=False))


def phases_of_lab(loaded, lab, work: Path, copies: int, workers: int) -> dict:
    course = prepare_demo_course(loaded, work / lab.name)
    folder = work / f"{lab.name}-class"
    folder.mkdir()
    for number in range(copies):
        shutil.copy(CourseLayout(REPO).solution(lab), folder / f"student-{number}.ipynb")
    started = time.perf_counter()
    batch = grade(course, lab, folder, work / f"{lab.name}-out", LocalWorkers(workers))
    wall = time.perf_counter() - started
    records = [r for r in batch.records if r.phases]
    assert all(r.status == "graded" for r in records), [r.message for r in records]
    median = {name: statistics.median(r.phases.get(name, 0.0) for r in records)
              for name in PHASES}
    jobs = [r.grading_seconds for r in records]
    overheads = [r.grading_seconds - r.phases["notebook"] for r in records]
    return {"phases": median, "job": statistics.median(jobs),
            "overhead": statistics.median(overheads),
            "ratio": statistics.median(r.grading_seconds / max(r.phases["notebook"], 1e-3)
                                       for r in records),
            "feedback": statistics.median(batch.feedback_seconds or [0.0]),
            "stages": batch.stage_seconds, "wall": wall, "jobs": jobs}


def print_table(results: dict, workers: int) -> None:
    labs = list(results)
    width = len("batch: check_before_grading") + 2
    print(f"{'phase (median s)':{width}}" + "".join(f"{lab:>13}" for lab in labs))
    for name in PHASES:
        print(f"{name:{width}}" + "".join(f"{results[lab]['phases'][name]:13.3f}"
                                          for lab in labs))
    rows = [("job", "job"), ("overhead (job - notebook)", "overhead"), ("ratio", "ratio"),
            ("feedback page (beside)", "feedback")]
    for title, key in rows:
        print(f"{title:{width}}" + "".join(f"{results[lab][key]:13.3f}" for lab in labs))
    for stage in ("check_before_grading", "make_template", "grade_canary"):
        print(f"{'batch: ' + stage:{width}}" + "".join(
            f"{results[lab]['stages'].get(stage, 0.0):13.3f}" for lab in labs))
    fixed = {lab: sum(v for k, v in results[lab]["stages"].items() if k != "grade_submissions")
             for lab in labs}
    course = {lab: fixed[lab] + COURSE_SIZE * results[lab]["job"] / workers for lab in labs}
    print("\nverdict: overhead at most 2 s a job: " + ", ".join(
        f"{lab} {'PASS' if results[lab]['overhead'] <= 2 else 'FAIL'}" for lab in labs))
    print(f"projection, {COURSE_SIZE} students, {workers} worker(s) on this machine: " +
          ", ".join(f"{lab} {course[lab] / 60:.0f} min" for lab in labs) +
          f"; all labs {sum(course.values()) / 3600:.1f} h")


def compare_runners(loaded, work: Path) -> dict:
    """Lab 1's demo class (and a second copy of the reference) with 1 and 2 local workers and
    a local Ray instance: wall time, canary included."""
    lab = loaded.course.assignment("core_mnist")
    folder = work / "runners-class"
    folder.mkdir()
    for submission in demo_submissions(REPO, lab):
        nbformat.write(submission.notebook, str(folder / f"{submission.student}.ipynb"))
    shutil.copy(folder / "reference-solution.ipynb", folder / "reference-copy.ipynb")
    count, walls = len(list(folder.iterdir())), {}
    for name, runner in {"1 worker": LocalWorkers(1), "2 workers": LocalWorkers(2),
                         "local Ray": RayCluster(None, memory_mb=2048)}.items():
        course = prepare_demo_course(loaded, work / f"runners-{name.replace(' ', '-')}")
        started = time.perf_counter()
        grade(course, lab, folder, work / f"runners-out-{name.replace(' ', '-')}", runner)
        walls[name] = time.perf_counter() - started
        print(f"{name:10} {walls[name]:7.1f} s for {count} submissions (canary included): "
              f"{3600 * count / walls[name]:6.0f} submissions/hour", flush=True)
    return walls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--labs", default="", help="comma-separated; default: every lab")
    parser.add_argument("--data-dir", type=Path, help="the data directory holding mnist/ "
                        "(default: the course's; the demo course adds a Fashion-MNIST stand-in)")
    parser.add_argument("--runners", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.data_dir:
        os.environ["GPUKIT_DATA_DIR"] = str(args.data_dir.resolve())
    loaded = load_config(REPO / "grading_config.py")
    labs = [lab for lab in loaded.course.assignments
            if not args.labs or lab.name in args.labs.split(",")]
    work = Path(tempfile.mkdtemp(prefix="gpukit-bench-"))
    print(f"{platform.node()}: {os.cpu_count()} cores, {args.copies} copies of each lab's "
          f"solution, {args.workers} worker(s), load average {os.getloadavg()[0]:.2f}",
          flush=True)
    results = {lab.name: phases_of_lab(loaded, lab, work, args.copies, args.workers)
               for lab in labs}
    print_table(results, args.workers)
    if args.runners:
        results["runners"] = compare_runners(loaded, work)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
