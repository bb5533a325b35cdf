"""End to end: lab 3's sample submissions (a Fashion-MNIST ANN) graded by `gpukit grade` (real
nbgrader, real kernels) on this CPU-only machine, on the generated Fashion-MNIST stand-in (the
real dataset cannot be downloaded here; see gpukit/data/standin.py).

EXPECTED is the explicit table of the points every check must give; every CPU-gradable check
scores zero on a fixture meant to fail it. The GPU-only check (trained_on_gpu) is skipped with
full points here.
"""

from __future__ import annotations

from tests.lab_tier import LabTier

FULL = {"device": 1, "ann_model": 2, "multi_gpu": 2, "training_setup": 1, "train_epoch": 3,
        "predict": 3, "accuracy": 4, "trained_on_gpu": 1}
ZERO = dict.fromkeys(FULL, 0)


class TestFashionAnnSampleClass(LabTier):
    template = "fashion_ann"
    FULL = FULL
    EXPECTED = {
        "reference-solution": FULL,
        "untouched-release": ZERO,
        # the demo class
        "data-parallel-always": {**FULL, "multi_gpu": 0},
        "predictions-left-on-device": {**FULL, "predict": 0},
        # tests/fixtures/fashion_ann/
        "device-hardcoded-cpu": {**FULL, "device": 0},
        "softmax-before-loss": {**FULL, "ann_model": 0},
        "data-parallel-never": {**FULL, "multi_gpu": 0},
        "model-never-moved": {**FULL, "multi_gpu": 0},
        "adam-wrong-learning-rate": {**FULL, "training_setup": 0},
        "labels-left-on-cpu": {**FULL, "train_epoch": 0},
        "train-mode-never-set": {**FULL, "train_epoch": 0},
        "gradients-never-zeroed": {**FULL, "train_epoch": 0, "accuracy": 0},
        "predict-in-training-mode": {**FULL, "predict": 0},
        "predict-tracks-gradients": {**FULL, "predict": 0},
        "trained-on-a-subset": {**FULL, "accuracy": 0},
        "accuracy-typed": {**FULL, "accuracy": 0},
        "empty-written-answers": FULL,
    }
    MESSAGES = {
        ("device-hardcoded-cpu", "device"): "does not choose CUDA when CUDA is available",
        ("softmax-before-loss", "ann_model"): "must return logits",
        ("data-parallel-always", "multi_gpu"): "wrap the model in nn.DataParallel exactly when "
                                               "there is more than one GPU",
        ("data-parallel-never", "multi_gpu"): "On a machine with 2 GPUs, prepare_model() must "
                                              "wrap the model in nn.DataParallel",
        ("model-never-moved", "multi_gpu"): "does not move the model to `device`",
        ("adam-wrong-learning-rate", "training_setup"): "learning rate must be LEARNING_RATE",
        ("labels-left-on-cpu", "train_epoch"): "labels that are not on `device`",
        ("train-mode-never-set", "train_epoch"): "call model.train() first",
        ("gradients-never-zeroed", "train_epoch"): "call optimizer.zero_grad() for every batch",
        ("predict-in-training-mode", "predict"): "must leave the model in evaluation mode",
        ("predict-tracks-gradients", "predict"): "inside `with torch.no_grad():`",
        ("predictions-left-on-device", "predict"): "returns its predictions on `device`",
        ("trained-on-a-subset", "accuracy"): "is below 0.85",
        ("accuracy-typed", "accuracy"): "You report a test accuracy of 0.9900, but the grader "
                                        "measured",
    }
    GPU_ONLY = {"trained_on_gpu"}
    WRITTEN = {
        "reference-solution": {"q_softmax": "complete", "q_eval_no_grad": "complete",
                               "q_multi_gpu": "complete"},
        "empty-written-answers": {"q_softmax": "missing", "q_eval_no_grad": "complete",
                                  "q_multi_gpu": "too_short"},
    }
    FEEDBACK = ("predictions-left-on-device", "returns its predictions on `device`")
