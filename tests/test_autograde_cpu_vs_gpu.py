"""End to end: lab 4's sample submissions (CPU versus GPU with an AlexNet-style CNN) graded by
`gpukit grade` (real nbgrader, real kernels) on this CPU-only machine, on the generated
Fashion-MNIST stand-in.

The timing checks run the student's timing functions on the grader's paced model (every step
takes a known time), so they are exact on any machine; the reported times are cross-checked
against the grader's clock of the cells that measured them. The GPU-only check (gpu_timing:
synchronization) is skipped with full points here. The lab runs with fewer timed batches than
the course's (SETTINGS), which changes none of the checks.
"""

from __future__ import annotations

from tests.lab_tier import LabTier

FULL = {"device": 1, "cnn_model": 2, "training_timing": 3, "inference_timing": 2,
        "timing_report": 2, "gpu_timing": 2, "bar_chart": 2, "amp": 2, "sweep": 2}
ZERO = dict.fromkeys(FULL, 0)


class TestCpuVsGpuSampleClass(LabTier):
    template = "cpu_vs_gpu"
    # Fewer timed batches than the course's: the checks time the grader's own paced model, so
    # the lab's own runs only need to exist, not to be long.
    SETTINGS = {"train_batches": 3, "inference_batch_size": 64, "inference_batches": 2,
                "sweep_batch_sizes": [16, 32], "sweep_batches": 2}
    FULL = FULL
    EXPECTED = {
        "reference-solution": FULL,
        "untouched-release": ZERO,
        # the demo class
        "clock-started-before-warmup": {**FULL, "training_timing": 0},
        "inference-tracks-gradients": {**FULL, "inference_timing": 0},
        # tests/fixtures/cpu_vs_gpu/
        "device-hardcoded-cpu": {**FULL, "device": 0},
        "cnn-average-pooling": {**FULL, "cnn_model": 0},
        "warmup-skipped": {**FULL, "training_timing": 0},
        "batches-never-moved": {**FULL, "training_timing": 0},
        "inference-in-training-mode": {**FULL, "inference_timing": 0},
        "times-typed": {**FULL, "timing_report": 0},
        "cpu-time-rescaled": {**FULL, "timing_report": 0},
        "bar-chart-zero-for-missing": {**FULL, "bar_chart": 0},
        "amp-without-autocast": {**FULL, "amp": 0},
        "amp-without-scaler": {**FULL, "amp": 0},
        "sweep-reuses-one-model": {**FULL, "sweep": 0},
        "sweep-reports-steps-per-second": {**FULL, "sweep": 0},
        "empty-written-answers": FULL,
        "tutorial-style-cnn": FULL,
        "softmax-in-functional-forward": {**FULL, "cnn_model": 0},
        "relu-missing-in-functional-forward": {**FULL, "cnn_model": 0},
    }
    MESSAGES = {
        ("clock-started-before-warmup", "training_timing"): "start the clock after the warm-up",
        ("device-hardcoded-cpu", "device"): "does not choose CUDA when CUDA is available",
        ("cnn-average-pooling", "cnn_model"): "must max-pool (2×2) after each convolution "
                                               "block",
        ("softmax-in-functional-forward", "cnn_model"): "AlexNetStyle must return logits, not "
                                                        "probabilities",
        ("relu-missing-in-functional-forward", "cnn_model"): "AlexNetStyle must apply ReLU after "
                                                             "Linear(6272, 512).",
        ("warmup-skipped", "training_timing"): "it must run its 2 warm-up steps",
        ("batches-never-moved", "training_timing"): "batches that are not on `device`",
        ("inference-tracks-gradients", "inference_timing"): "inside `with torch.no_grad():`",
        ("inference-in-training-mode", "inference_timing"): "call model.eval() first",
        ("times-typed", "timing_report"): "is not the `cpu_train_s` you measured",
        ("cpu-time-rescaled", "timing_report"): "is not a time measured in the cell that set it",
        ("bar-chart-zero-for-missing", "bar_chart"): "one bar per measured time",
        ("amp-without-autocast", "amp"): "inside torch.autocast",
        ("amp-without-scaler", "amp"): "scale every step's loss with the GradScaler",
        ("sweep-reuses-one-model", "sweep"): "fresh model with make_model()",
        ("sweep-reports-steps-per-second", "sweep"): "does not report images per second",
    }
    GPU_ONLY = {"gpu_timing"}
    WRITTEN = {
        "reference-solution": {"q_speedup": "complete", "q_amp": "complete",
                               "q_batch_size": "complete"},
        "empty-written-answers": {"q_speedup": "missing", "q_amp": "too_short",
                                  "q_batch_size": "complete"},
    }
    FEEDBACK = ("clock-started-before-warmup", "start the clock after the warm-up steps")
