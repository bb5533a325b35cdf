"""Lab 4's reference run, outside Jupyter: CPU against GPU with synchronized timings.

Runs the reference solution's own functions (AlexNetStyle, time_training, time_inference,
train_amp, sweep_batch_sizes, taken from solutions/cpu_vs_gpu/cpu_vs_gpu.ipynb)
with the lab's settings from grading_config.py, on the CPU and, when there is one, on the GPU, and
prints what it measured: training and inference seconds, the GPU speed-ups, AMP against float32,
and the sweep's images per second. Timing needs images, not a dataset: the images are random.

It needs only PyTorch (no Jupyter, nbgrader or TensorFlow), so it runs on a bare GPU machine:

    python bench/cpu_vs_gpu.py [--output bench/results/cpu_vs_gpu.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SOLUTION = REPO_ROOT / "solutions" / "cpu_vs_gpu" / "cpu_vs_gpu.ipynb"
CODE_CELLS = ("model_code", "timing_code", "amp_code", "sweep_code")
# The lab's settings (grading_config.py's defaults for CpuGpuLab).
SETTINGS = {"batch_size": 64, "train_batches": 20, "inference_batch_size": 256,
            "inference_batches": 10, "sweep_batch_sizes": [32, 64, 128, 256], "sweep_batches": 5}


def reference_functions() -> dict:
    """The solution notebook's definitions (each cell up to its first top-level use)."""
    cells = {cell.get("id"): "".join(cell["source"])
             for cell in json.loads(SOLUTION.read_text())["cells"]}
    namespace: dict = {}
    exec("import time\nimport torch\nfrom torch import nn\n", namespace)
    for cell_id in CODE_CELLS:
        source = cells[cell_id]
        definitions = source.split("\n\n\n")  # the code after the definitions runs the lab
        exec("\n\n\n".join(part for part in definitions
                           if any(line.startswith(("def ", "class "))
                                  for line in part.splitlines())), namespace)
    return namespace


def measure(lab: dict, device: torch.device, settings: dict) -> dict:
    images = torch.rand(12_000, 1, 28, 28)
    labels = torch.randint(0, 10, (12_000,))
    model = lab["AlexNetStyle"]
    torch.manual_seed(0)
    result = {
        "train_s": lab["time_training"](model(), images, labels, device, settings["batch_size"],
                                        settings["train_batches"]),
        "infer_s": lab["time_inference"](model(), images, device,
                                         settings["inference_batch_size"],
                                         settings["inference_batches"]),
        "amp_train_s": lab["train_amp"](model(), images, labels, device, settings["batch_size"],
                                        settings["train_batches"]),
    }
    lab["device"] = device  # plot_sweep and friends read the global
    result["sweep_images_per_s"] = lab["sweep_batch_sizes"](
        model, images, labels, device, settings["sweep_batch_sizes"], settings["sweep_batches"])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path,
                        default=REPO_ROOT / "bench" / "results" / "cpu_vs_gpu.json")
    parser.add_argument("--quick", action="store_true",
                        help="a few batches only (a smoke test of the script)")
    args = parser.parse_args(argv)
    settings = dict(SETTINGS)
    if args.quick:
        settings.update(train_batches=2, inference_batches=2, sweep_batch_sizes=[16, 32],
                        sweep_batches=2)
    lab = reference_functions()
    runs = {"cpu": measure(lab, torch.device("cpu"), settings)}
    if torch.cuda.is_available():
        runs["cuda"] = measure(lab, torch.device("cuda"), settings)
    result = {
        "timestamp_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                    "torch": torch.__version__,
                    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
        "settings": settings,
        "runs": runs,
    }
    if "cuda" in runs:
        cpu, gpu = runs["cpu"], runs["cuda"]
        result["gpu_speedup"] = {"train": cpu["train_s"] / gpu["train_s"],
                                 "inference": cpu["infer_s"] / gpu["infer_s"],
                                 "amp_vs_float32_on_gpu": gpu["train_s"] / gpu["amp_train_s"]}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
