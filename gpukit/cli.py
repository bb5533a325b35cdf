"""The `gpukit` command line: a thin layer over the library functions that tests call directly."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gpukit import __version__
from gpukit.errors import GpukitError

# Gradescope's test visibilities (gpukit/reports/gradescope.py checks them too; not imported
# from there, which would load nbgrader for every command's --help).
GRADESCOPE_VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except GpukitError as error:
        print(f"gpukit: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gpukit: interrupted.", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    from gpukit_student.data.cli import add_data_commands

    parser = argparse.ArgumentParser(
        prog="gpukit",
        description="Release, solve and autograde the gpukit GPU-training labs with nbgrader. "
        "Run the commands in the course directory (the one holding grading_config.py).")
    parser.add_argument("--version", action="version", version=f"gpukit {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, func, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.add_argument("--config", type=Path, default=None,
                         help="grading_config.py to use (default: the one in the current "
                         "directory or its nearest parent)")
        sub.set_defaults(func=func)
        return sub

    command("config", run_config, "Validate grading_config.py and print every setting with "
            "its description.")
    command("render", run_render, "Render the lab templates into nbgrader master notebooks in "
            "source/ (no nbgrader step).")
    sub = command("release", run_release, "Render the templates, then run nbgrader to produce "
                  "release/ (for students), solutions/ (with the graders' rubric) and autograder/ "
                  "(the hidden checks that grade, runnable with plain pytest).")
    sub.add_argument("--no-progress", action="store_true", help="no progress bar")
    sub = command("grade", run_grade, "Autograde a directory of submissions through nbgrader, "
                  "in parallel, and write grades.csv, per-student feedback HTML (without hidden "
                  "tests) and one JSON record per submission, each as its result arrives. A "
                  "rerun grades only what changed; the lab's solution is graded first as a "
                  "canary.")
    sub.add_argument("submissions", type=Path, help="folder of <student>.ipynb files or "
                     "<student>/ folders holding the notebook")
    sub.add_argument("--assignment", default=None, help="assignment name (default: the only "
                     "one in grading_config.py)")
    sub.add_argument("--output", type=Path, default=None, help="where to write the results "
                     "(default: graded/<assignment>/ in the course directory)")
    sub.add_argument("--workers", type=_positive, default=None, metavar="N",
                     help="grade N submissions at once on this machine (default: one per core, "
                     "as many as memory holds at about 3 GB per kernel); each kernel gets "
                     "cores / N threads")
    sub.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                     help="grade on a Ray cluster (ADDRESS, or $RAY_ADDRESS) or, without an "
                     "address, a local Ray instance; needs the `ray` extra")
    sub.add_argument("--regrade", action="store_true", help="grade every submission again, "
                     "also those whose record shows them graded by this grader already")
    sub.add_argument("--no-preflight", action="store_true", help="skip the checks of the "
                     "datasets, the sandbox and the GPU policy before grading")
    sub.add_argument("--no-canary", action="store_true", help="do not grade the lab's own "
                     "solution first (the canary that stops a batch the environment would fail)")
    sub.add_argument("--no-progress", action="store_true", help="no progress bar")
    sub = command("new-lab", run_new_lab, "Scaffold a lab of the course's own in labs/NAME/ "
                  "beside grading_config.py (settings and points, master notebook, hidden "
                  "checks, rubric, fixtures) that releases and grades as it is, and print the "
                  "line to add to grading_config.py. Guide: docs/new-lab.md.")
    sub.add_argument("name", metavar="NAME", help="the lab's name: a Python identifier "
                     "(letters, digits, '_', starting with a letter), used as the folder "
                     "labs/NAME/, the module labs.NAME and the default assignment name")
    sub = command("demo", run_demo, "Release the course, then autograde a demo class (the "
                  "reference solution and flawed submissions) in a scratch course directory "
                  "with nbgrader's SQLite gradebook, and print the grades.")
    sub.add_argument("--workdir", type=Path, default=Path("demo-class"),
                     help="scratch course directory for the demo class (default: demo-class/; "
                     "its submissions and gradebook are replaced on each run)")
    sub.add_argument("--no-progress", action="store_true", help="no progress bar")
    sub = command("report", run_report, "Write the class report of graded assignments: one "
                  "self-contained HTML page each (graded/<assignment>/report.html: statuses, "
                  "score distribution, per-check pass rates, discrimination and common failure "
                  "messages, what still needs you, per-student rows linking their feedback, "
                  "timing plots) and a course page graded/index.html linking them.")
    _assignment_options(sub)
    sub = command("export", run_export, "Export the gradebook's scores (manual ones included) "
                  "for an LMS: a per-check CSV, Canvas's or Moodle's gradebook import, or "
                  "Gradescope results.json files.")
    sub.add_argument("--format", required=True, choices=("csv", "canvas", "moodle",
                                                         "gradescope", "similarity"),
                     help="what to write (similarity: the pairs gpukit similarity lists)")
    _assignment_options(sub)
    sub.add_argument("--output", type=Path, default=None, help="file (or, for gradescope "
                     "without --student, folder) to write; default under graded/")
    sub.add_argument("--students", type=Path, default=None, metavar="CSV",
                     help="student mapping: a CSV with a 'student' column (nbgrader ids) and "
                     "the LMS's columns (Canvas: ID, SIS User ID, SIS Login ID, Section, "
                     "Student; Moodle: email, idnumber or username); default: nbgrader's "
                     "student table (names, email, lms_user_id)")
    sub.add_argument("--canvas-id", action="append", default=[], metavar="ASSIGNMENT=ID",
                     help="the Canvas assignment id of an assignment (its column becomes "
                     "'ASSIGNMENT (ID)'; without one Canvas creates a new assignment)")
    sub.add_argument("--moodle-key", default="email", choices=("email", "idnumber",
                                                               "username"),
                     help="the user field Moodle's import maps (default: email)")
    sub.add_argument("--student", default=None, help="gradescope: write only this "
                     "student's results.json, to --output")
    sub.add_argument("--visibility", default="visible", choices=GRADESCOPE_VISIBILITIES,
                     help="gradescope: when students see each check's test (default: visible; "
                     "the checks' messages are written for students)")
    sub = command("similarity", run_similarity, "List the pairs of an assignment's submissions "
                  "whose student-written code or written answers are similar beyond "
                  "similarity_threshold (grading_config.py), for a person to look at: each pair's "
                  "score, the cells involved and a side-by-side view with the matching passages "
                  "marked (similarity.html), and the pairs as CSV (similarity.csv). The release's "
                  "given code and instructions never count. No grade changes.")
    sub.add_argument("--assignment", default=None, help="assignment name (default: the only "
                     "one in grading_config.py)")
    sub.add_argument("--submissions", type=Path, default=None, metavar="FOLDER",
                     help="a folder of submissions as gpukit grade takes it (default: the "
                     "notebooks gpukit grade kept in the course's submitted/ folder)")
    sub.add_argument("--output", type=Path, default=None, metavar="FOLDER",
                     help="where to write similarity.html and similarity.csv (default: "
                     "graded/<assignment>/)")
    sub.add_argument("--threshold", type=_fraction, default=None, metavar="SCORE",
                     help="list pairs scoring at least this, 0 < SCORE <= 1 (default: "
                     "similarity_threshold in grading_config.py)")
    sub.add_argument("--no-progress", action="store_true", help="no progress bar")
    sub = command("gradescope-autograder", run_gradescope_autograder, "Build the Gradescope "
                  "autograder zip of an assignment (setup.sh and run_autograder at its root, "
                  "with the kit and the assignment's grading side): Gradescope then grades "
                  "each submission with gpukit's own checks.")
    sub.add_argument("--assignment", default=None, help="assignment name (default: the only "
                     "one in grading_config.py)")
    sub.add_argument("--output", type=Path, default=None, help="zip to write (default: "
                     "graded/<assignment>/gradescope-autograder.zip)")
    sub.add_argument("--visibility", default="visible", choices=GRADESCOPE_VISIBILITIES,
                     help="when students see each check's result (default: visible)")
    add_data_commands(commands)
    return parser


def _assignment_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--assignment", action="append", default=[], metavar="NAME",
                     help="assignment to include (repeatable; default: every assignment "
                     "graded so far)")
    sub.add_argument("--grading-output", type=Path, default=None, metavar="DIR",
                     help="the folder `gpukit grade --output` wrote (default: "
                     "graded/<assignment>/); with one assignment only")


def _loaded(args: argparse.Namespace):
    from gpukit.config import load_config

    return load_config(args.config)


def run_config(args: argparse.Namespace) -> int:
    from gpukit.config import explain

    loaded = _loaded(args)
    print(f"{loaded.root / 'grading_config.py'} is valid.\n")
    for line in explain(loaded.course):
        print(line)
    print(f"\n(data directory in use: {loaded.data_dir})")
    return 0


def run_render(args: argparse.Namespace) -> int:
    from gpukit.release.render import render_sources

    for path in render_sources(_loaded(args)):
        print(f"rendered {path}")
    return 0


def run_new_lab(args: argparse.Namespace) -> int:
    from gpukit.config import config_file
    from gpukit.course.new_lab import next_steps, scaffold_lab

    # The course is found, not loaded: grading_config.py may already name the new lab.
    root = config_file(args.config).parent
    print(next_steps(scaffold_lab(args.name, root), root))
    return 0


def run_release(args: argparse.Namespace) -> int:
    from gpukit.release.release import release_course

    for lab in release_course(_loaded(args), progress=not args.no_progress):
        print(f"{lab.name}: master {lab.source}\n  release  {lab.release}\n"
              f"  solution {lab.solution}\n  rubric   {lab.rubric}\n"
              f"  checks   {lab.autograder}")
    return 0


def run_grade(args: argparse.Namespace) -> int:
    from gpukit.batch.runners import LocalWorkers, RayCluster, default_workers
    from gpukit.batch.stages import GradingOptions, grade_directory, summary

    loaded = _loaded(args)
    lab = _one_lab(loaded, args.assignment, "grade")
    output = args.output or loaded.root / "graded" / lab.name
    if args.ray is not None:
        runner = RayCluster(args.ray or os.environ.get("RAY_ADDRESS") or None,
                            memory_mb=loaded.course.memory_limit_mb)
    else:
        runner = LocalWorkers(args.workers or default_workers())
    options = GradingOptions(runner=runner, regrade=args.regrade,
                             preflight=not args.no_preflight, canary=not args.no_canary)
    print(f"gpukit grade: {lab.name} with {runner.describe()}")
    records = grade_directory(loaded, lab, args.submissions.resolve(), output.resolve(),
                              progress=not args.no_progress, options=options)
    print(summary(records, output))
    return 0


def _one_lab(loaded, name: str | None, verb: str):
    """The assignment named, or the course's only one."""
    from gpukit.errors import ConfigError

    labs = loaded.course.assignments
    if name is None and len(labs) > 1:
        raise ConfigError(f"The course has several assignments: say which to {verb}.",
                          hint="Add --assignment " + " | ".join(lab.name for lab in labs))
    return loaded.course.assignment(name) if name else labs[0]


def _graded_labs(loaded, args: argparse.Namespace, single: bool = False) -> list:
    """The assignments a report or export covers, as asked or every one graded so far."""
    from gpukit.errors import ConfigError

    if args.assignment:
        labs = [loaded.course.assignment(name) for name in args.assignment]
    else:
        labs = [lab for lab in loaded.course.assignments
                if (loaded.root / "graded" / lab.name / "records").is_dir()]
        if not labs and (loaded.gradebook_file is None or loaded.gradebook_file.is_file()):
            labs = list(loaded.course.assignments)
    if not labs:
        raise ConfigError("Nothing graded yet in this course.",
                          hint="Grade a class first: gpukit grade SUBMISSIONS --assignment NAME")
    if (single or args.grading_output) and len(labs) > 1:
        raise ConfigError("This needs exactly one assignment.",
                          hint="Add --assignment " + " | ".join(lab.name for lab in labs))
    return labs


def run_report(args: argparse.Namespace) -> int:
    from gpukit.reports.page import write_index, write_report

    loaded = _loaded(args)
    reports = [write_report(loaded, lab, args.grading_output)
               for lab in _graded_labs(loaded, args)]
    for report in reports:
        print(f"{report.assignment}: {report.submissions} submissions -> {report.path}")
    print(f"course page: {write_index(loaded, reports)}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from gpukit.reports import exports, gradescope
    from gpukit.reports.classbook import load_class

    loaded = _loaded(args)
    single = args.format in ("csv", "gradescope", "similarity")
    labs = _graded_labs(loaded, args, single=single)
    if args.format == "similarity":
        from gpukit.similarity.course import similarity_of
        from gpukit.similarity.export import CSV_NAME, pairs_csv

        findings = similarity_of(loaded, labs[0])
        target = args.output or (args.grading_output or loaded.root / "graded" /
                                 labs[0].name) / CSV_NAME
        _write_text(target, pairs_csv(findings))
        print(f"{len(findings.pairs)} pairs\nwrote {target}")
        return 0
    classes = [load_class(loaded, lab, args.grading_output) for lab in labs]
    graded = loaded.root / "graded"
    if args.format == "gradescope":
        if args.student:
            data = gradescope.results_json(classes[0], args.student, args.visibility)
            target = args.output or classes[0].output / "gradescope" / args.student / \
                "results.json"
            _write_text(target, json.dumps(data, indent=2))
        else:
            target = args.output or classes[0].output / "gradescope"
            written = gradescope.write_results(classes[0], target, args.visibility)
            print(f"{len(written)} results.json files")
        print(f"wrote {target}")
        return 0
    mapping = exports.StudentMapping.read(args.students)
    if args.format == "csv":
        text, target = exports.checks_csv(classes[0]), classes[0].output / "checks.csv"
    elif args.format == "canvas":
        ids = dict(_pair(item) for item in args.canvas_id)
        text, target = exports.canvas_csv(classes, mapping, ids), graded / "canvas-import.csv"
    else:
        text = exports.moodle_csv(classes, mapping, args.moodle_key)
        target = graded / "moodle-import.csv"
    target = args.output or target
    _write_text(target, text)
    pending = sorted({s.student for c in classes for s in c.students
                      if any(score.needs_manual for score in s.scores.values())})
    if pending:
        print(f"note: {len(pending)} students have answers still to grade by hand; their "
              "scores lack those points until you grade them in formgrader.")
    print(f"wrote {target}")
    return 0


def run_gradescope_autograder(args: argparse.Namespace) -> int:
    from gpukit.reports.gradescope import build_autograder

    loaded = _loaded(args)
    lab = _one_lab(loaded, args.assignment, "build")
    target = args.output or loaded.root / "graded" / lab.name / "gradescope-autograder.zip"
    print(f"wrote {build_autograder(loaded, lab, target, args.visibility)}")
    return 0


def run_similarity(args: argparse.Namespace) -> int:
    from gpukit.similarity.course import similarity_of
    from gpukit.similarity.export import CSV_NAME, pairs_csv
    from gpukit.similarity.page import PAGE_NAME, render_page
    from gpukit.untrusted import shown

    loaded = _loaded(args)
    lab = _one_lab(loaded, args.assignment, "compare")
    findings = similarity_of(loaded, lab, submissions=args.submissions and
                             args.submissions.resolve(), threshold=args.threshold,
                             progress=not args.no_progress)
    output = args.output or loaded.root / "graded" / lab.name
    _write_text(output / PAGE_NAME, render_page(findings, loaded.course.course_id))
    _write_text(output / CSV_NAME, pairs_csv(findings))
    print(f"gpukit similarity: {lab.name}: {len(findings.students)} submissions, "
          f"{findings.total_pairs:,} pairs, {findings.compared['code']} compared for code and "
          f"{findings.compared['written']} for written answers through the fingerprint index, "
          f"in {findings.seconds:.1f} s")
    for student, problem in findings.problems:
        print(f"  not compared: {shown(student)}: {shown(problem, 200)}")
    threshold = findings.settings.threshold
    print(f"{len(findings.pairs)} pairs at or above {threshold:g} (no grade changed):")
    for pair in findings.pairs:
        scores = ", ".join(f"{kind} {pair.score(kind):.2f}" for kind in pair.matches)
        cells = "; ".join(dict.fromkeys(c for m in pair.matches.values() for c in m.cells))
        print(f"  {shown(pair.a)} ~ {shown(pair.b)}: {scores} ({shown(cells, 160)})")
    print(f"wrote {output / PAGE_NAME}\nwrote {output / CSV_NAME}")
    return 0


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a score with 0 < score <= 1")
    return value


def _pair(text: str) -> tuple[str, str]:
    from gpukit.errors import ConfigError

    name, _, value = text.partition("=")
    if not name or not value:
        raise ConfigError(f"--canvas-id {text!r} is not ASSIGNMENT=ID.",
                          hint="Write it as, e.g., --canvas-id core_mnist=123456")
    return name, value


def _write_text(path: Path, text: str) -> None:
    """Write whole or not at all: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a number of workers (1 or more)")
    return value


def run_demo(args: argparse.Namespace) -> int:
    from gpukit.demo.run import run_demo_class

    return run_demo_class(_loaded(args), args.workdir, progress=not args.no_progress)


if __name__ == "__main__":
    sys.exit(main())
