"""End to end: lab 3's sample submissions (a Fashion-MNIST ANN) graded by `gpukit grade` (real
nbgrader, real kernels) on this CPU-only machine, on the generated Fashion-MNIST stand-in (the
real dataset cannot be downloaded here; see gpukit/data/standin.py).

EXPECTED is the explicit table of the points every check must give; every CPU-gradable check
scores zero on a fixture meant to fail it. The GPU-only check (trained_on_gpu) is skipped with
full points here.
"""

from __future__ import annotations

import shutil

from gpukit.course import nbgrader_steps
from gpukit.course.grades import read_grades
from gpukit.course.layout import CourseLayout, notebook_stem
from gpukit.course.student_wheel import student_wheel_filename
from tests.lab_tier import LabTier

# A student runtime of the student's own, handed in beside the notebook: if the grader imported
# it, the setup cell would load no data and leave a trace.
TAMPERED_RUNTIME = """\
import pathlib
pathlib.Path("tampered-runtime-was-imported").write_text("yes")


def load_fashion_mnist(*args, **kwargs):
    raise RuntimeError("the tampered runtime was imported")
"""

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
        "reimports-student-runtime": FULL,
        "functional-forward-and-loss": FULL,
        "relu-missing-in-functional-forward": {**FULL, "ann_model": 0},
        "wrong-size-behind-sequential": {**FULL, "ann_model": 0},
    }
    MESSAGES = {
        ("device-hardcoded-cpu", "device"): "does not choose CUDA when CUDA is available",
        ("softmax-before-loss", "ann_model"): "FashionANN must return logits, not probabilities",
        ("relu-missing-in-functional-forward", "ann_model"): "FashionANN must apply ReLU after "
                                                             "Linear(256, 128).",
        ("wrong-size-behind-sequential", "ann_model"): "784 -> 256 -> 128 -> 10 (235,146 "
                                                       "parameters)",
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

    def test_a_runtime_handed_in_beside_the_notebook_changes_nothing(self, graded):
        """Plain `nbgrader autograde` copies whatever a student hands in beside the notebook: a
        tampered gpukit_student package and a fake wheel there grade exactly like the plain
        reference, and the release's wheel is put back over the fake one."""
        course, lab = graded["course"], graded["lab"]
        layout = CourseLayout(course.root)
        folder = layout.submitted("tampered-runtime", lab).parent
        folder.mkdir(parents=True)
        shutil.copy(layout.submitted("reference-solution", lab), folder)
        (folder / "gpukit_student").mkdir()
        (folder / "gpukit_student" / "__init__.py").write_text(TAMPERED_RUNTIME)
        (folder / student_wheel_filename()).write_bytes(b"not the runtime")
        nbgrader_steps.autograde(course.root, lab.name, "--student", "tampered-runtime")
        grades = read_grades(course.gradebook_url, lab, notebook_stem(lab))
        assert grades["tampered-runtime"].cells == grades["reference-solution"].cells
        autograded = layout.autograded("tampered-runtime", lab).parent
        assert not (autograded / "tampered-runtime-was-imported").exists()
        assert (autograded / student_wheel_filename()).read_bytes() == \
            (layout.release(lab).parent / student_wheel_filename()).read_bytes()
