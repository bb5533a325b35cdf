"""What autograding costs: `gpukit grade` wall time per lab, and the hidden checks' share.

1. For every lab of grading_config.py, grades one reference-solution submission with
   `gpukit grade` (real nbgrader, the sandbox kernel, real MNIST) in a scratch course directory
   and times the whole command: target <= 90 s per lab, and <= 60 s for the core lab.
2. Executes the core lab's master notebook (visible self-checks + hidden checks) and its solution
   notebook (the same cells, without the hidden checks) with nbclient in the gpukit-sandbox
   kernel (so the integrity baseline and its verification are included), and compares the time
   spent in the graded test cells: the difference is what the hidden checks add, as a share of
   the time to execute the notebook without them: target <= 10 %.

Run: .venv/bin/python bench/autograde_speed.py [--data-dir DIR]. About 2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from gpukit.config import load_config
from gpukit.course.layout import CourseLayout
from gpukit.demo.run import prepare_demo_course
from gpukit.grading.autograder import AUTOGRADER_VARIABLE
from gpukit.sandbox import kernelspec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import cell_wall_seconds  # noqa: E402  (a sibling script)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "autograde_speed.json"
GRADE_TARGET_S = {"core_mnist": 60.0}  # per lab template; others: DEFAULT_GRADE_TARGET_S
DEFAULT_GRADE_TARGET_S = 90.0
OVERHEAD_TARGET = 0.10


def time_gpukit_grade(course_root: Path, lab_name: str, solution: Path, work: Path) -> float:
    submissions = work / f"submissions-{lab_name}"
    submissions.mkdir()
    (submissions / "reference.ipynb").write_bytes(solution.read_bytes())
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gpukit", "grade", str(submissions),
                           "--assignment", lab_name, "--output", str(work / f"out-{lab_name}"),
                           "--no-progress"],
                          cwd=course_root, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"gpukit grade failed:\n{done.stdout}\n{done.stderr}")
    print(done.stdout.strip())
    return seconds


def execute(path: Path, cwd: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(nb, timeout=600, kernel_name=kernelspec.KERNEL_NAME, record_timing=True,
                   allow_errors=False, resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def test_cell_seconds(nb: nbformat.NotebookNode) -> dict[str, float]:
    return {cell.id: cell_wall_seconds(cell) for cell in nb.cells
            if cell.cell_type == "code" and cell.metadata["nbgrader"].get("grade")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help="directory holding mnist/ (default: ../shared/data)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    args = parser.parse_args(argv)
    if not (args.data_dir / "mnist").is_dir():
        sys.exit(f"No MNIST in {args.data_dir}/mnist: pass --data-dir.")
    os.environ["GPUKIT_DATA_DIR"] = str(args.data_dir.resolve())

    loaded = load_config(REPO_ROOT / "grading_config.py")
    lab = loaded.course.lab("core_mnist")
    layout = CourseLayout(loaded.root)
    grade_s: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        course = prepare_demo_course(loaded, work / "course")
        # The demo course's own data directory: the given datasets, linked, plus the generated
        # Fashion-MNIST stand-in where the real one is missing (labs 3 and 4).
        os.environ["GPUKIT_DATA_DIR"] = str(work / "course" / "data")
        os.environ[AUTOGRADER_VARIABLE] = str(CourseLayout(course.root).autograder)
        kernelspec.install(course.root)
        for each in loaded.course.assignments:
            print(f"1/3 gpukit grade of one reference submission of {each.name} ...", flush=True)
            grade_s[each.name] = time_gpukit_grade(course.root, each.name,
                                                   layout.solution(each), work)
        print("2/3 executing the master notebook (with hidden checks) ...", flush=True)
        master = execute(layout.source(lab), work)
        print("3/3 executing the solution notebook (without hidden checks) ...", flush=True)
        solution = execute(layout.solution(lab), work)

    with_hidden, without = test_cell_seconds(master), test_cell_seconds(solution)
    notebook_s = sum(cell_wall_seconds(c) for c in solution.cells if c.cell_type == "code")
    overhead_s = sum(with_hidden.values()) - sum(without.values())
    share = overhead_s / notebook_s
    result = {
        "timestamp_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "loadavg_after": os.getloadavg()},
        "gpukit_grade_seconds": {name: round(s, 2) for name, s in grade_s.items()},
        "notebook_without_hidden_checks_seconds": round(notebook_s, 2),
        "test_cells_seconds": {"with_hidden_checks": with_hidden, "without": without},
        "hidden_checks_seconds": round(overhead_s, 3),
        "hidden_checks_share": round(share, 4),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    print()
    for each in loaded.course.assignments:
        target = GRADE_TARGET_S.get(each.lab_id, DEFAULT_GRADE_TARGET_S)
        seconds = grade_s[each.name]
        print(f"gpukit grade, one reference submission of {each.name}: {seconds:6.1f} s  "
              f"{'PASS' if seconds <= target else 'FAIL'} (target <= {target:.0f} s)")
    print(f"hidden checks: {overhead_s:.2f} s on a {notebook_s:.1f} s notebook = {share:.1%}  "
          f"{'PASS' if share <= OVERHEAD_TARGET else 'FAIL'} (target <= {OVERHEAD_TARGET:.0%})")
    for cell_id in with_hidden:
        print(f"  {cell_id:16} {without.get(cell_id, 0):6.2f} s -> {with_hidden[cell_id]:6.2f} s")
    print(f"results: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
