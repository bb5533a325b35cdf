"""Training speed and accuracy of Lab 1's reference solution against the course's seed code.

Runs, one after the other on this machine:

1. the reference solution notebook (solutions/core_mnist/core_mnist.ipynb), executed for
   real with nbclient; each training time is the wall time of its training cell, taken from the
   execution timestamps nbclient records, and the accuracy is measured the way the grader does it,
   by a cell appended at the end that evaluates the trained models on freshly loaded test data;
2. the seed-style baseline (bench/seed_baseline.py), once per framework, each in its own process.

Prints a side-by-side table with the speed-up (seed time / reference time), PASS/FAIL against the
targets (training <= 10 s and test accuracy >= 0.975 per framework), and writes every raw number
to a JSON file. Takes about 1.5 to 2 minutes on an otherwise idle 2-core machine, several times
longer when other processes compete for the cores (the run records the load to show it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO_ROOT / "solutions" / "core_mnist" / "core_mnist.ipynb"
SEED_SCRIPT = Path(__file__).resolve().with_name("seed_baseline.py")
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "train_speed.json"

TIME_TARGET_S = 10.0
ACCURACY_TARGET = 0.975
FRAMEWORKS = ("keras", "torch")
LABELS = {"keras": "Keras", "torch": "PyTorch"}
# Cells are addressed by their stable nbformat ids, never by position: the notebook is generated
# from a template and its cell order may change.
TRAIN_CELL_IDS = {"keras": "keras_train_code", "torch": "torch_train_code"}
MEASURE_CELL_ID = "bench_measure"
RESULT_MARKER = "BENCH_RESULT "

# Appended to the notebook and run in the same kernel once every other cell has run. It measures
# accuracy as the grader's hidden tests do (fresh test data, Keras called directly, the PyTorch
# model on the CPU), so the notebook's self-reported accuracies are not trusted.
MEASURE_SOURCE = f'''\
# Appended by bench/train_speed.py: grader-style accuracy and the notebook's own fit-only times.
import json as _bjson
import sys as _bsys

import keras as _bkeras
import numpy as _bnp
import tensorflow as _btf
import torch as _btorch

from gpukit_student.data import load_mnist as _bload_mnist

(_, _), (_bx, _by) = _bload_mnist()
_bprobs = _bnp.asarray(keras_model(_bx.astype("float32") / 255.0, training=False))
_bkeras_acc = float((_bprobs.argmax(axis=1) == _by).mean())
_bcpu_model = torch_model.to("cpu").eval()
with _btorch.no_grad():
    _blogits = _bcpu_model(_btorch.from_numpy(_bx).float() / 255.0)
_btorch_acc = float((_blogits.argmax(dim=1).numpy() == _by).mean())
print({RESULT_MARKER!r} + _bjson.dumps({{
    "keras_train_time": float(keras_train_time),
    "torch_train_time": float(torch_train_time),
    "keras_accuracy_measured": _bkeras_acc,
    "torch_accuracy_measured": _btorch_acc,
    "keras_accuracy_notebook": float(keras_test_accuracy),
    "torch_accuracy_notebook": float(torch_test_accuracy),
    "torch_device": str(device),
    "versions": {{"tensorflow": _btf.__version__, "keras": _bkeras.__version__,
                  "torch": _btorch.__version__, "python": _bsys.version.split()[0]}},
    "kernel_executable": _bsys.executable,
}}))
'''


class BenchError(Exception):
    """The benchmark could not run (missing input, failed notebook or baseline)."""


# --------------------------------------------------------------------------- inputs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example: /path/to/venv/bin/python bench/train_speed.py --skip-seed",
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help="directory holding mnist/ with the four IDX files "
                             f"(default: {DEFAULT_DATA_DIR})")
    parser.add_argument("--skip-seed", action="store_true",
                        help="run only the reference notebook, not the seed-style baseline")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"JSON file for the raw results (default: {DEFAULT_OUTPUT})")
    return parser.parse_args(argv)


def check_inputs(notebook: Path, data_dir: Path) -> None:
    """Fail early, with a clear message, when the notebook or the MNIST files are missing."""
    if not notebook.is_file():
        raise BenchError(f"reference notebook not found: {notebook}\n"
                         "Render it first (gpukit render / the course's build step).")
    from gpukit_student.data import verify_dataset

    problems = [f"  {s.filename}: {s.message}" for s in verify_dataset("mnist", data_dir)
                if not s.ok]
    if problems:
        raise BenchError(f"MNIST is missing or damaged under {data_dir / 'mnist'}:\n"
                         + "\n".join(problems) + "\nPass the right directory with --data-dir.")


# --------------------------------------------------------------------------- reference notebook


def load_reference(notebook: Path):
    """Read the notebook and append the measuring cell; checks the training cells exist."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    ids = {cell.get("id") for cell in nb.cells}
    missing = [cell_id for cell_id in TRAIN_CELL_IDS.values() if cell_id not in ids]
    if missing:
        raise BenchError(f"{notebook} has no cell with id {', '.join(missing)}")
    nb.cells.append(nbformat.v4.new_code_cell(MEASURE_SOURCE, id=MEASURE_CELL_ID))
    return nb


def notebook_fingerprint(notebook: Path) -> dict:
    """sha256 and mtime of the notebook file.

    The notebook is regenerated as the lab evolves; this ties the numbers to the exact version.
    """
    return {
        "notebook_sha256": hashlib.sha256(notebook.read_bytes()).hexdigest(),
        "notebook_mtime_utc": datetime.fromtimestamp(notebook.stat().st_mtime, UTC)
        .isoformat(timespec="seconds"),
    }


def cell_wall_seconds(cell) -> float:
    """Seconds from the kernel starting the cell to its reply, from nbclient's timestamps."""
    timing = cell.metadata["execution"]
    begin = datetime.fromisoformat(timing["iopub.execute_input"])
    end = datetime.fromisoformat(timing["shell.execute_reply"])
    return (end - begin).total_seconds()


def parse_measurement(cell) -> dict:
    """The JSON the measuring cell printed on stdout."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            for line in output["text"].splitlines():
                if line.startswith(RESULT_MARKER):
                    return json.loads(line[len(RESULT_MARKER):])
    raise BenchError("the measuring cell printed no result; its outputs: "
                     f"{json.dumps(cell.get('outputs', []))[:2000]}")


def run_reference(notebook: Path, data_dir: Path, bar) -> dict:
    """Execute the reference notebook and return its timings and grader-style accuracies."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    fingerprint = notebook_fingerprint(notebook)  # before running: the file may be regenerated
    nb = load_reference(notebook)

    def on_cell_execute(cell, cell_index):
        bar.set_postfix_str(f"notebook cell {cell.get('id', cell_index)}")

    def on_cell_executed(cell, cell_index, execute_reply):
        if cell.cell_type == "code":
            bar.update(1)

    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", record_timing=True,
        resources={"metadata": {"path": str(notebook.parent)}},
        on_cell_execute=on_cell_execute, on_cell_executed=on_cell_executed,
    )
    # The notebook calls load_mnist() without a path: it reads the data directory from this
    # variable. TF's log level keeps its C++ start-up chatter out of the cells' stderr.
    env = {**os.environ, "GPUKIT_DATA_DIR": str(data_dir), "TF_CPP_MIN_LOG_LEVEL": "2"}
    # The kernel process's own stderr (TensorFlow/absl start-up lines, a fatal LLVM error) would
    # scribble over the progress bar; keep it in a file and show it only if the kernel fails.
    with tempfile.TemporaryFile() as kernel_log:
        start = time.perf_counter()
        try:
            client.execute(env=env, stderr=kernel_log)
        except (CellExecutionError, DeadKernelError) as error:
            kernel_log.seek(0)
            tail = kernel_log.read().decode(errors="replace")[-3000:]
            raise BenchError(f"the reference notebook failed:\n{error}\n"
                             f"kernel stderr (tail):\n{tail}") from error
        notebook_wall = time.perf_counter() - start

    cells = {cell.get("id"): cell for cell in nb.cells}
    measured = parse_measurement(cells[MEASURE_CELL_ID])
    result = {
        "notebook": str(notebook),
        **fingerprint,
        "notebook_wall_seconds": notebook_wall,
        "measure_cell_seconds": cell_wall_seconds(cells[MEASURE_CELL_ID]),
        "torch_device": measured["torch_device"],
        "kernel_executable": measured["kernel_executable"],
        "versions": measured["versions"],
    }
    for fw in FRAMEWORKS:
        result[fw] = {
            "cell_id": TRAIN_CELL_IDS[fw],
            "cell_wall_seconds": cell_wall_seconds(cells[TRAIN_CELL_IDS[fw]]),
            "fit_seconds_notebook": measured[f"{fw}_train_time"],
            "accuracy_measured": measured[f"{fw}_accuracy_measured"],
            "accuracy_notebook": measured[f"{fw}_accuracy_notebook"],
        }
    return result


# --------------------------------------------------------------------------- seed baseline


def run_seed(framework: str, data_dir: Path, bar) -> dict:
    """Run the seed-style baseline for one framework in a fresh process; return its JSON line."""
    bar.set_postfix_str(f"seed baseline, {LABELS[framework]}")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, str(SEED_SCRIPT), framework, "--data-dir", str(data_dir)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=REPO_ROOT)
    while True:
        # communicate() with a timeout keeps draining both pipes, so a chatty stderr cannot fill
        # its pipe and stall the child; the loop only exists to keep the bar's clock moving.
        try:
            stdout, stderr = proc.communicate(timeout=1)
            break
        except subprocess.TimeoutExpired:
            bar.refresh()
    bar.update(1)
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise BenchError(f"seed baseline ({framework}) failed with exit code {proc.returncode}:\n"
                         + stderr[-3000:])
    return json.loads(lines[-1])


# --------------------------------------------------------------------------- report


def compare(reference: dict, seed: dict) -> dict:
    """Speed-ups of the reference over the seed code, per framework."""
    comparison = {}
    for fw in FRAMEWORKS:
        if fw not in seed:
            continue
        ref, base = reference[fw], seed[fw]
        comparison[fw] = {
            "speedup_vs_cell_wall": base["train_seconds"] / ref["cell_wall_seconds"],
            "speedup_vs_fit_only": base["train_seconds"] / ref["fit_seconds_notebook"],
        }
    return comparison


def verdicts(reference: dict) -> list[dict]:
    """PASS/FAIL of the reference against the targets; the cell wall time is the one judged."""
    checks = []
    for fw in FRAMEWORKS:
        ref = reference[fw]
        checks.append({"framework": fw, "what": "time", "value": ref["cell_wall_seconds"],
                       "target": f"<= {TIME_TARGET_S:g} s",
                       "passed": ref["cell_wall_seconds"] <= TIME_TARGET_S})
        checks.append({"framework": fw, "what": "accuracy", "value": ref["accuracy_measured"],
                       "target": f">= {ACCURACY_TARGET}",
                       "passed": ref["accuracy_measured"] >= ACCURACY_TARGET})
    return checks


def format_table(reference: dict, seed: dict, comparison: dict) -> str:
    """The side-by-side table, one row per framework."""
    header = ("framework", "reference time (cell wall / fit-only)", "reference acc",
              "seed time", "seed acc", "speed-up (vs cell wall / fit-only)")
    rows = [header]
    for fw in FRAMEWORKS:
        ref = reference[fw]
        row = [LABELS[fw],
               f"{ref['cell_wall_seconds']:.1f} s / {ref['fit_seconds_notebook']:.1f} s",
               f"{ref['accuracy_measured']:.4f}"]
        if fw in seed:
            ratio = comparison[fw]
            row += [f"{seed[fw]['train_seconds']:.1f} s", f"{seed[fw]['accuracy']:.4f}",
                    f"{ratio['speedup_vs_cell_wall']:.1f}x / {ratio['speedup_vs_fit_only']:.1f}x"]
        else:
            row += ["(skipped)", "-", "-"]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def format_verdicts(checks: list[dict]) -> str:
    """One PASS/FAIL line per target."""
    lines = []
    for check in checks:
        value = (f"{check['value']:.2f} s (training cell wall time)" if check["what"] == "time"
                 else f"{check['value']:.4f} (grader-style, test set)")
        status = "PASS" if check["passed"] else "FAIL"
        lines.append(f"{status}  {LABELS[check['framework']]:8} {check['what']:9} {value}, "
                     f"target {check['target']}")
    return "\n".join(lines)


def cpu_steal_seconds() -> float | None:
    """CPU time the hypervisor gave to other guests since boot (Linux only, else None)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def machine_info(load_before: tuple[float, ...], steal_before: float | None) -> dict:
    """The machine the numbers come from, with signs of contention during the run.

    Load averages show other processes competing for the cores; steal time shows a virtual
    machine's host handing the cores to other guests. Either makes every phase slower.
    """
    steal_after = cpu_steal_seconds()
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "loadavg_before": list(load_before),
        "loadavg_after": list(os.getloadavg()),
        "cpu_steal_seconds_during_run": (None if None in (steal_before, steal_after)
                                         else steal_after - steal_before),
    }


def write_json(path: Path, payload: dict) -> None:
    """Write the raw results, creating the folder (bench/results/ is git-ignored)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")


# --------------------------------------------------------------------------- main


def run(args: argparse.Namespace) -> int:
    """Run every phase, print the report, write the JSON; returns the exit code."""
    from tqdm import tqdm

    data_dir = args.data_dir.expanduser().resolve()
    check_inputs(NOTEBOOK, data_dir)
    load_before, steal_before = os.getloadavg(), cpu_steal_seconds()
    if load_before[0] > 0.5 * (os.cpu_count() or 1):
        print(f"warning: load average {load_before[0]:.2f} before starting: other processes "
              "compete for the CPU and will slow every phase down", file=sys.stderr)

    frameworks = () if args.skip_seed else FRAMEWORKS
    code_cells = sum(1 for c in load_reference(NOTEBOOK).cells if c.cell_type == "code")
    started, started_utc = time.perf_counter(), datetime.now(UTC).isoformat(timespec="seconds")
    with tqdm(total=code_cells + len(frameworks), unit="step", desc="train_speed",
              file=sys.stderr, dynamic_ncols=True) as bar:
        reference = run_reference(NOTEBOOK, data_dir, bar)
        seed = {fw: run_seed(fw, data_dir, bar) for fw in frameworks}
    total = time.perf_counter() - started

    comparison = compare(reference, seed)
    checks = verdicts(reference)
    print()
    print(format_table(reference, seed, comparison))
    print()
    print(format_verdicts(checks))
    print()
    print(f"Reference notebook wall time (kernel start to last cell): "
          f"{reference['notebook_wall_seconds']:.1f} s; "
          f"PyTorch trained on {reference['torch_device']}; "
          f"notebook sha256 {reference['notebook_sha256'][:12]}.")
    print(f"Benchmark total: {total:.1f} s on {os.cpu_count()} CPU cores ({platform.platform()}).")

    payload = {
        "timestamp_utc": datetime.now(UTC).isoformat(timespec="seconds"),  # when it finished
        "started_utc": started_utc,
        "machine": machine_info(load_before, steal_before),
        "versions": reference["versions"],
        "targets": {"time_seconds_max": TIME_TARGET_S, "accuracy_min": ACCURACY_TARGET,
                    "judged_time": "training cell wall time"},
        "reference": reference,
        "seed": seed,
        "comparison": comparison,
        "verdicts": checks,
        "all_passed": all(check["passed"] for check in checks),
        "total_seconds": total,
    }
    write_json(args.output, payload)
    print(f"Raw results: {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: a clear message and exit code 1 when the benchmark cannot run."""
    args = parse_args(argv)
    try:
        return run(args)
    except BenchError as error:
        print(f"train_speed: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
