"""The `gpukit` command line: a thin layer over the library functions that tests call directly."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gpukit import __version__
from gpukit.errors import GpukitError


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
                  "release/ (for students) and solutions/ (with the graders' rubric).")
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
    sub = command("demo", run_demo, "Release the course, then autograde a demo class (the "
                  "reference solution and flawed submissions) in a scratch course directory "
                  "with nbgrader's SQLite gradebook, and print the grades.")
    sub.add_argument("--workdir", type=Path, default=Path("demo-class"),
                     help="scratch course directory for the demo class (default: demo-class/; "
                     "its submissions and gradebook are replaced on each run)")
    sub.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_data_commands(commands)
    return parser


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
    from gpukit.course.render import render_sources

    for path in render_sources(_loaded(args)):
        print(f"rendered {path}")
    return 0


def run_release(args: argparse.Namespace) -> int:
    from gpukit.course.release import release_course

    for lab in release_course(_loaded(args), progress=not args.no_progress):
        print(f"{lab.name}: master {lab.source}\n  release  {lab.release}\n"
              f"  solution {lab.solution}\n  rubric   {lab.rubric}")
    return 0


def run_grade(args: argparse.Namespace) -> int:
    from gpukit.course.grade import GradingOptions, grade_directory, summary
    from gpukit.course.runners import LocalWorkers, RayCluster, default_workers
    from gpukit.errors import ConfigError

    loaded = _loaded(args)
    labs = loaded.course.assignments
    if args.assignment is None and len(labs) > 1:
        raise ConfigError("The course has several assignments: say which to grade.",
                          hint="Add --assignment " + " | ".join(lab.name for lab in labs))
    lab = loaded.course.assignment(args.assignment) if args.assignment else labs[0]
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
