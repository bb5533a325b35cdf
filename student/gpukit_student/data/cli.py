"""``gpukit-data fetch|verify NAME``: fetch and check datasets from the command line.

Students have it with the runtime (also as ``python -m gpukit_student.data``); the instructor
kit's ``gpukit data`` is the same command: it calls :func:`add_data_commands` on its
subparsers and dispatches with ``args.func(args)``, which returns the process exit code.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from gpukit_student.data.loader import (
    ENV_VAR,
    fetch_dataset,
    resolve_data_dir,
    resolve_spec,
    verify_dataset,
)
from gpukit_student.data.registry import DATASETS, STAND_IN_MARKER, STAND_INS, get_spec
from gpukit_student.data.standin import N_TEST, N_TRAIN, write_fashion_standin
from gpukit_student.errors import DatasetError

_DATA_DIR_HELP = f"data directory (default: ${ENV_VAR}, else ~/.gpukit/data)"
# Functions that write a dataset's generated stand-in, by dataset name (see STAND_INS).
_STAND_IN_WRITERS = {"fashion-mnist": write_fashion_standin}


_DESCRIPTION = "Download and check datasets ({names}). Files live in DATA_DIR/NAME/."


def main(argv: list[str] | None = None) -> int:
    """``gpukit-data``: the student's entry point (console script and ``python -m``)."""
    parser = argparse.ArgumentParser(
        prog="gpukit-data", description=_DESCRIPTION.format(names=", ".join(sorted(DATASETS))))
    _add_fetch_and_verify(parser)
    args = parser.parse_args(argv)
    return args.func(args)


def add_data_commands(
    subparsers: argparse._SubParsersAction,
) -> argparse.ArgumentParser:
    """Register ``data fetch`` and ``data verify`` on ``subparsers``; return the ``data`` parser."""
    data = subparsers.add_parser(
        "data",
        help="download and check the datasets used by the labs",
        description=_DESCRIPTION.format(names=", ".join(sorted(DATASETS))),
    )
    _add_fetch_and_verify(data)
    return data


def _add_fetch_and_verify(parser: argparse.ArgumentParser) -> None:
    names = ", ".join(sorted(DATASETS))
    commands = parser.add_subparsers(
        dest="data_command", metavar="COMMAND", required=True
    )

    fetch = commands.add_parser(
        "fetch",
        help="download the missing files of a dataset and verify them",
        description="Download the files of a dataset that are missing from the data directory. "
        "Files already present and valid are not downloaded again. Offline, --stand-in writes a "
        "generated stand-in for fashion-mnist instead.",
    )
    fetch.add_argument("name", metavar="NAME", help=f"dataset name ({names})")
    fetch.add_argument("--data-dir", type=Path, default=None, help=_DATA_DIR_HELP)
    fetch.add_argument(
        "--no-progress", action="store_true", help="do not show a progress bar"
    )
    fetch.add_argument(
        "--stand-in",
        action="store_true",
        help=f"offline, for fashion-mnist only: instead of downloading, write a generated "
        f"stand-in (NOT the real dataset: {N_TRAIN} training and {N_TEST} test images of drawn "
        "clothing silhouettes, same file names, format and classes) so that the labs can run and "
        f"be graded without internet; the folder is marked with {STAND_IN_MARKER}, which says "
        "how to replace it with the real files",
    )
    fetch.set_defaults(func=run_data_command)

    verify = commands.add_parser(
        "verify",
        help="check that every file of a dataset is present and matches its checksum",
        description="Check each file of a dataset: present, checksum, IDX header and shape. "
        "Exits with status 1 if any file is missing or invalid.",
    )
    verify.add_argument("name", metavar="NAME", help=f"dataset name ({names})")
    verify.add_argument("--data-dir", type=Path, default=None, help=_DATA_DIR_HELP)
    verify.set_defaults(func=run_data_command)


def run_data_command(args: argparse.Namespace) -> int:
    """Run ``gpukit-data fetch|verify`` from parsed arguments; return the exit code."""
    try:
        if args.data_command == "fetch":
            return _run_fetch(args)
        if args.data_command == "verify":
            return _run_verify(args)
    except DatasetError as exc:
        print(exc, file=sys.stderr)
        return 1
    raise ValueError(f"unknown data command {args.data_command!r}")


def _run_fetch(args: argparse.Namespace) -> int:
    name = get_spec(args.name).name
    if args.stand_in:
        if name not in _STAND_IN_WRITERS:
            raise DatasetError(
                f"There is no generated stand-in for {name!r}.",
                hint=f"--stand-in works for: {', '.join(sorted(_STAND_IN_WRITERS))}.",
            )
        directory = _STAND_IN_WRITERS[name](args.data_dir)
    else:
        directory = fetch_dataset(name, args.data_dir, progress=not args.no_progress)
    spec = resolve_spec(name, args.data_dir)
    print(f"{spec.name} is ready in {directory}")
    if spec == STAND_INS.get(name):
        print(
            f"  These are generated images, not the real {name} (see "
            f"{directory / STAND_IN_MARKER}). For the real dataset, delete {directory} and run "
            f"`gpukit-data fetch {name} --data-dir {shlex.quote(str(directory.parent))}` on a "
            "machine that is online."
        )
    return 0


def _run_verify(args: argparse.Namespace) -> int:
    spec = resolve_spec(args.name, args.data_dir)
    statuses = verify_dataset(spec, args.data_dir)
    directory = resolve_data_dir(args.data_dir) / spec.folder_name
    print(f"Dataset {spec.name} in {directory}:")
    if spec in STAND_INS.values():
        print(
            f"  {STAND_IN_MARKER} is there: checking the generated stand-in (not the real "
            "dataset) against its own checksums."
        )
    for status in statuses:
        label = "ok" if status.ok else ("MISSING" if not status.present else "INVALID")
        shown = status.path.name if status.present else status.filename
        detail = "" if status.ok else f": {status.message}"
        print(f"  {label:<8} {shown}{detail}")
    failed = [status for status in statuses if not status.ok]
    if not failed:
        print(f"All {len(statuses)} files are present and valid.")
        return 0
    print(f"{len(failed)} of {len(statuses)} files are missing or invalid.")
    # Several files usually share one fix (e.g. the same fetch command): print each once.
    for hint in dict.fromkeys(status.hint for status in failed if status.hint):
        print(f"  What to do: {hint}")
    return 1
