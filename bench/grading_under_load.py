"""Grades do not depend on how busy the grader is: the demo class graded while a second batch
runs beside it must get exactly the labs' expected tables (the README's).

Two batches start together on this machine, each in a fresh folder: `gpukit demo` (the class
that is checked) and a second grading of the same class in a course of its own, which only loads
the machine. Every demo submission of A is
then compared, check by check, with its lab's ``fixtures/expected.py`` (the README's table); the
records that were graded again once the machine was quiet are counted. The machine's CPU
pressure (/proc/pressure/cpu, "some") over the run is printed, to show it was loaded.

Run: ``.venv/bin/python bench/grading_under_load.py [--keep DIR]`` (about 10 minutes on 2 cores;
nothing else should run). Exit status 1 when a grade differs from the table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gpukit.config import load_config
from gpukit.demo.sample_class import expected_points
from gpukit.sandbox.pressure import Span

REPO = Path(__file__).resolve().parents[1]


def demo(workdir: Path) -> subprocess.Popen:
    """`gpukit demo`: the course released, the demo class graded, as the README says."""
    return subprocess.Popen([sys.executable, "-m", "gpukit", "demo", "--workdir", str(workdir),
                             "--no-progress"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def second_batch(workdir: Path) -> subprocess.Popen:
    """The same class graded in a course of its own (no release: the first one releases)."""
    code = ("import sys\nfrom pathlib import Path\nfrom gpukit.config import load_config\n"
            "from gpukit.demo.run import grade_demo_class\n"
            "grade_demo_class(load_config(Path('grading_config.py')), Path(sys.argv[1]), "
            "progress=False)")
    return subprocess.Popen([sys.executable, "-c", code, str(workdir)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def compare(workdir: Path) -> tuple[list[str], int]:
    """(differences from the expected tables, records compared)."""
    loaded = load_config(REPO / "grading_config.py")
    differences, compared = [], 0
    for lab in loaded.course.assignments:
        for student, points in expected_points(lab, gpu=False).items():
            path = workdir / "graded" / lab.name / "records" / f"{student}.json"
            if not path.is_file():
                continue  # a fixture that is not in the demo class
            record = json.loads(path.read_text())
            compared += 1
            got = {c["check"]: c["points"] for c in record["checks"]}
            if got != points:
                differences.append(f"{lab.name}/{student}: {record['status']} {got} "
                                   f"(expected {points}): {record['message'][:200]}")
    return differences, compared


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="the folder for both demo courses")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="gpukit-loaded-"))
    span, started = Span.start(), time.perf_counter()
    checked, beside = demo(work / "checked"), second_batch(work / "beside")
    output, _ = checked.communicate()
    seconds, share = time.perf_counter() - started, span.stalled_share()
    beside.wait()
    if checked.returncode != 0:
        print(output[-3000:])
        return 1
    again = output.count("grading them again")
    differences, compared = compare(work / "checked")
    print(f"demo class graded beside a second batch: {seconds:.0f} s; CPU pressure over the run "
          f"{share:.0%} (some task waited for a CPU); batches that graded again when quiet: "
          f"{again}")
    print(f"{compared} records compared with the labs' expected tables: "
          f"{len(differences)} differ")
    for line in differences:
        print("  " + line)
    print(f"(both demo courses: {work})")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
