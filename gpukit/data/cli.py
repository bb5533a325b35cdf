"""The ``gpukit data`` command: fetch and verify datasets from the command line.

The main ``gpukit`` CLI calls :func:`add_data_commands` on its subparsers and dispatches with
``args.func(args)``, which returns the process exit code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gpukit.data.loader import ENV_VAR, fetch_dataset, resolve_data_dir, verify_dataset
from gpukit.data.registry import DATASETS, get_spec
from gpukit.errors import DatasetError

_DATA_DIR_HELP = f"data directory (default: ${ENV_VAR}, else ~/.gpukit/data)"


def add_data_commands(
    subparsers: argparse._SubParsersAction,
) -> argparse.ArgumentParser:
    """Register ``data fetch`` and ``data verify`` on ``subparsers``; return the ``data`` parser."""
    names = ", ".join(sorted(DATASETS))
    data = subparsers.add_parser(
        "data",
        help="download and check the datasets used by the labs",
        description=f"Download and check datasets ({names}). Files live in DATA_DIR/NAME/.",
    )
    commands = data.add_subparsers(
        dest="data_command", metavar="COMMAND", required=True
    )

    fetch = commands.add_parser(
        "fetch",
        help="download the missing files of a dataset and verify them",
        description="Download the files of a dataset that are missing from the data directory. "
        "Files already present and valid are not downloaded again.",
    )
    fetch.add_argument("name", metavar="NAME", help=f"dataset name ({names})")
    fetch.add_argument("--data-dir", type=Path, default=None, help=_DATA_DIR_HELP)
    fetch.add_argument(
        "--no-progress", action="store_true", help="do not show a progress bar"
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
    return data


def run_data_command(args: argparse.Namespace) -> int:
    """Run ``gpukit data fetch|verify`` from parsed arguments; return the exit code."""
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
    directory = fetch_dataset(args.name, args.data_dir, progress=not args.no_progress)
    print(f"{get_spec(args.name).name} is ready in {directory}")
    return 0


def _run_verify(args: argparse.Namespace) -> int:
    spec = get_spec(args.name)
    statuses = verify_dataset(spec, args.data_dir)
    print(f"Dataset {spec.name} in {resolve_data_dir(args.data_dir) / spec.name}:")
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
