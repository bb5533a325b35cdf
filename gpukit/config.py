"""The course configuration: one typed object, loaded from ``grading_config.py`` and validated.

``grading_config.py`` is the one file an instructor edits. It is plain Python that builds a
:class:`Course` and binds it to the name ``config``. Every field carries its help text in the
dataclass metadata (shown by ``gpukit config --explain``), and :func:`validate` checks every field
against its declared type and rule, naming the field by its full path
(``assignments[0].keras_accuracy_threshold``) and the values it allows.
"""

from __future__ import annotations

import dataclasses
import os
import re
import runpy
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from gpukit.errors import ConfigError

CONFIG_FILE_NAME = "grading_config.py"
# Set for grading kernels (nbgrader_settings.py): where the hidden checks find the course.
COURSE_ROOT_VARIABLE = "GPUKIT_COURSE_ROOT"
GPU_POLICIES = ("require", "prefer", "ignore")

# A rule returns None when the value is fine, else a phrase saying what is allowed.
Rule = Callable[[Any], "str | None"]


def setting(default: Any = dataclasses.MISSING, *, help: str, rule: Rule | None = None,
            default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field that carries its help text and validation rule."""
    metadata = {"help": help, "rule": rule}
    if default_factory is not dataclasses.MISSING:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def positive(value: Any) -> str | None:
    return None if value > 0 else "a number greater than 0"


def non_negative(value: Any) -> str | None:
    return None if value >= 0 else "a number of 0 or more"


def fraction(value: Any) -> str | None:
    return None if 0 < value <= 1 else "a fraction with 0 < value <= 1 (0.97 means 97 %)"


def one_of(*allowed: str) -> Rule:
    def rule(value: Any) -> str | None:
        return None if value in allowed else "one of " + ", ".join(repr(a) for a in allowed)
    return rule


def database_url(value: Any) -> str | None:
    if value == "" or re.fullmatch(r"[a-z][a-z0-9+_]*://.*", value):
        return None
    return ("a database URL as SQLAlchemy writes it (sqlite:////abs/path.db, "
            "postgresql://user@host/db, mysql+pymysql://...), or \"\" for gradebook.db here")


def identifier(value: Any) -> str | None:
    # nbgrader uses ids as directory names and database keys: keep them path- and URL-safe.
    ok = re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,63}", value)
    return None if ok else "letters, digits, '_' or '-', starting with a letter (at most 64)"


# --------------------------------------------------------------------------------------------
# Labs. Each lab type names its template and turns its settings into template parameters.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MnistPoints:
    """Points of each graded cell of the core MNIST lab (grade ids in the notebook)."""

    environment: float = setting(2, help="Environment report matches the grading kernel.",
                                 rule=non_negative)
    gpu_report: float = setting(2, help="GPU report matches what TensorFlow and PyTorch see.",
                                rule=non_negative)
    device: float = setting(1, help="`device` is CUDA exactly when CUDA is available.",
                            rule=non_negative)
    keras_model: float = setting(2, help="Keras model has the required architecture.",
                                 rule=non_negative)
    keras_accuracy: float = setting(4, help="Keras model reaches the accuracy threshold, "
                                    "measured by the grader, and the reported accuracy agrees.",
                                    rule=non_negative)
    keras_on_gpu: float = setting(1, help="Keras model trained on the GPU (GPU-only check: "
                                  "see gpu_policy).", rule=non_negative)
    torch_model: float = setting(2, help="PyTorch model has the required architecture.",
                                 rule=non_negative)
    torch_placement: float = setting(2, help="train_torch moves the model and every batch to "
                                     "`device` (checked on a CPU grader too).",
                                     rule=non_negative)
    torch_accuracy: float = setting(4, help="PyTorch model reaches the accuracy threshold, "
                                    "measured by the grader, and the reported accuracy agrees.",
                                    rule=non_negative)
    timing: float = setting(2, help="Reported training times agree with the grader's clock "
                            "(synchronized on a GPU) and are compared correctly.",
                            rule=non_negative)
    q_normalize: float = setting(2, help="Written: why normalize inputs (graded by hand).",
                                 rule=non_negative)
    q_relu: float = setting(2, help="Written: the role of ReLU (graded by hand).",
                            rule=non_negative)
    q_gpu: float = setting(2, help="Written: why GPUs for training (graded by hand).",
                           rule=non_negative)
    q_compare: float = setting(2, help="Written: compare the frameworks (graded by hand).",
                               rule=non_negative)

    def total(self) -> float:
        return sum(getattr(self, f.name) for f in dataclasses.fields(self))


@dataclass(frozen=True)
class MnistLab:
    """Lab 1: MNIST in Keras and PyTorch (environment, GPU check, two MLPs, timing, questions)."""

    template: ClassVar[str] = "core_mnist"

    name: str = setting("lab1_mnist", help="Assignment id in nbgrader (folder name under "
                        "source/, release/, submitted/).", rule=identifier)
    epochs: int = setting(5, help="Training epochs for both models.", rule=positive)
    keras_accuracy_threshold: float = setting(
        0.97, help="Test accuracy the Keras model must reach, measured by the grader.",
        rule=fraction)
    torch_accuracy_threshold: float = setting(
        0.97, help="Test accuracy the PyTorch model must reach, measured by the grader.",
        rule=fraction)
    accuracy_tolerance: float = setting(
        0.005, help="How far a reported accuracy may be from the one the grader measures.",
        rule=fraction)
    timing_min_fraction: float = setting(
        0.5, help="A reported training time must lie between this fraction of the grader's "
        "measured time for the training cell and that whole time.", rule=fraction)
    points: MnistPoints = setting(default_factory=MnistPoints,
                                  help="Points of each graded cell.")

    def template_params(self) -> dict[str, Any]:
        return {
            "assignment": self.name,
            "epochs": self.epochs,
            "keras_threshold": self.keras_accuracy_threshold,
            "torch_threshold": self.torch_accuracy_threshold,
            "points": self.points,
        }


@dataclass(frozen=True)
class GpuBasicsPoints:
    """Points of each graded cell of the PyTorch-on-GPU basics lab (grade ids in the notebook)."""

    cuda_status: float = setting(2, help="cuda_status() reports what torch.cuda sees (checked "
                                 "on a CPU grader too, with torch.cuda reporting two GPUs).",
                                 rule=non_negative)
    device: float = setting(1, help="`device` is CUDA exactly when CUDA is available.",
                            rule=non_negative)
    move_batch: float = setting(2, help="move_batch() returns every tensor of a batch moved to "
                                "`device` (checked on a CPU grader too).", rule=non_negative)
    forward_on: float = setting(3, help="forward_on() runs the model with its parameters and "
                                "input on `device`, without gradients, and returns the output "
                                "on the CPU (checked on a CPU grader too).", rule=non_negative)
    tensor_megabytes: float = setting(2, help="tensor_megabytes() gives a tensor's size, "
                                      "checked on the grader's own tensors of several dtypes.",
                                      rule=non_negative)
    measure_allocation: float = setting(1, help="measure_allocation() on a CPU device: the "
                                        "tensor's size, and no CUDA statistics for it.",
                                        rule=non_negative)
    gpu_memory: float = setting(2, help="measure_allocation() on the GPU reports what the "
                                "grader measures, frees its tensor and empties the cache "
                                "(GPU-only check: see gpu_policy).", rule=non_negative)
    q_same_device: float = setting(2, help="Written: model and inputs on one device (graded "
                                   "by hand).", rule=non_negative)
    q_empty_cache: float = setting(2, help="Written: what empty_cache() frees and does not "
                                   "(graded by hand).", rule=non_negative)

    def total(self) -> float:
        return sum(getattr(self, f.name) for f in dataclasses.fields(self))


@dataclass(frozen=True)
class GpuBasicsLab:
    """Lab 2: PyTorch on the GPU (device choice, .to(device), forward pass, GPU memory)."""

    template: ClassVar[str] = "gpu_basics"

    name: str = setting("lab2_gpu_basics", help="Assignment id in nbgrader (folder name under "
                        "source/, release/, submitted/).", rule=identifier)
    memory_tensor_mb: int = setting(
        15, help="Size in MB (1 MB = 2**20 bytes) of the float32 tensor measure_allocation() "
        "creates, in the notebook and in the grader's memory checks. Above 10 MB, the CUDA "
        "caching allocator reserves whole multiples of 2 MB, so an odd size shows reserved "
        "memory exceeding allocated memory.", rule=positive)
    points: GpuBasicsPoints = setting(default_factory=GpuBasicsPoints,
                                      help="Points of each graded cell.")

    def template_params(self) -> dict[str, Any]:
        return {
            "assignment": self.name,
            "memory_mb": self.memory_tensor_mb,
            "points": self.points,
        }


@dataclass(frozen=True)
class FashionAnnPoints:
    """Points of each graded cell of the Fashion-MNIST ANN lab (grade ids in the notebook)."""

    device: float = setting(1, help="`device` is CUDA exactly when CUDA is available.",
                            rule=non_negative)
    ann_model: float = setting(2, help="FashionANN has the required layers and returns logits.",
                               rule=non_negative)
    multi_gpu: float = setting(2, help="prepare_model() moves the model to `device` and wraps it "
                               "in nn.DataParallel exactly when there are several GPUs (checked "
                               "on a CPU grader with torch.cuda reporting 0, 1 and 2 GPUs).",
                               rule=non_negative)
    training_setup: float = setting(1, help="The model is trained with nn.CrossEntropyLoss and "
                                    "an Adam optimizer over its own parameters.",
                                    rule=non_negative)
    train_epoch: float = setting(3, help="train_epoch() trains in training mode on `device`, "
                                 "steps the optimizer on every batch, covers the data once and "
                                 "returns the mean loss (checked on the grader's own model).",
                                 rule=non_negative)
    predict: float = setting(3, help="predict() runs in eval mode under torch.no_grad() on "
                             "`device` and returns the predicted classes on the CPU (checked "
                             "on the grader's own model, with dropout).", rule=non_negative)
    accuracy: float = setting(4, help="The trained model reaches the accuracy threshold, "
                              "measured by the grader, and the reported accuracy agrees.",
                              rule=non_negative)
    trained_on_gpu: float = setting(1, help="The trained model's parameters are on the GPU "
                                    "(GPU-only check: see gpu_policy).", rule=non_negative)
    q_softmax: float = setting(2, help="Written: why no softmax before CrossEntropyLoss "
                               "(graded by hand).", rule=non_negative)
    q_eval_no_grad: float = setting(2, help="Written: model.eval() versus torch.no_grad() "
                                    "(graded by hand).", rule=non_negative)
    q_multi_gpu: float = setting(2, help="Written: DataParallel and DistributedDataParallel "
                                 "(graded by hand).", rule=non_negative)

    def total(self) -> float:
        return sum(getattr(self, f.name) for f in dataclasses.fields(self))


@dataclass(frozen=True)
class FashionAnnLab:
    """Lab 3: a Fashion-MNIST ANN in PyTorch on the GPU (nn.Module, training, inference,
    several GPUs)."""

    template: ClassVar[str] = "fashion_ann"

    name: str = setting("lab3_fashion_ann", help="Assignment id in nbgrader (folder name under "
                        "source/, release/, submitted/).", rule=identifier)
    epochs: int = setting(5, help="Training epochs.", rule=positive)
    batch_size: int = setting(64, help="Training batch size.", rule=positive)
    learning_rate: float = setting(1e-3, help="Adam's learning rate.", rule=positive)
    accuracy_threshold: float = setting(
        0.85, help="Test accuracy the trained ANN must reach, measured by the grader. Published "
        "multi-layer perceptrons reach about 0.87-0.89 on Fashion-MNIST (0.877 for the MLP of "
        "the dataset's benchmark), so 0.85 leaves room for seeds and hardware.", rule=fraction)
    accuracy_tolerance: float = setting(
        0.005, help="How far the reported accuracy may be from the one the grader measures.",
        rule=fraction)
    points: FashionAnnPoints = setting(default_factory=FashionAnnPoints,
                                       help="Points of each graded cell.")

    def template_params(self) -> dict[str, Any]:
        return {
            "assignment": self.name,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "threshold": self.accuracy_threshold,
            "points": self.points,
        }


@dataclass(frozen=True)
class CpuGpuPoints:
    """Points of each graded cell of the CPU-vs-GPU lab (grade ids in the notebook)."""

    device: float = setting(1, help="`device` is CUDA exactly when CUDA is available.",
                            rule=non_negative)
    cnn_model: float = setting(2, help="AlexNetStyle has the required layers and shapes.",
                               rule=non_negative)
    training_timing: float = setting(3, help="time_training() trains on `device`, excludes its "
                                     "warm-up steps and times exactly the requested batches "
                                     "(checked against the grader's clock on a model of known "
                                     "step time).", rule=non_negative)
    inference_timing: float = setting(2, help="time_inference() runs in eval mode under "
                                      "torch.no_grad() on `device` and times exactly the "
                                      "requested batches after its warm-up.",
                                      rule=non_negative)
    timing_report: float = setting(2, help="The reported times are times the notebook measured "
                                   "(differences of clock readings taken in the cells that set "
                                   "them); GPU times are given exactly when there is a GPU.",
                                   rule=non_negative)
    gpu_timing: float = setting(2, help="On the GPU, the timing functions wait for the GPU "
                                "(torch.cuda.synchronize) before reading the clock (GPU-only "
                                "check: see gpu_policy).", rule=non_negative)
    bar_chart: float = setting(2, help="plot_times() draws one labelled bar per measured time "
                               "(checked on the grader's numbers).", rule=non_negative)
    amp: float = setting(2, help="train_amp() runs the forward pass under torch.autocast on "
                         "`device`, scales the loss with a GradScaler and times its batches.",
                         rule=non_negative)
    sweep: float = setting(2, help="sweep_batch_sizes() times a fresh model per batch size and "
                           "reports images per second.", rule=non_negative)
    q_speedup: float = setting(2, help="Written: interpreting the CPU and GPU times (graded by "
                               "hand).", rule=non_negative)
    q_amp: float = setting(2, help="Written: what mixed precision does (graded by hand).",
                           rule=non_negative)
    q_batch_size: float = setting(2, help="Written: throughput against batch size (graded by "
                                  "hand).", rule=non_negative)

    def total(self) -> float:
        return sum(getattr(self, f.name) for f in dataclasses.fields(self))


def batch_sizes(value: Any) -> str | None:
    ok = isinstance(value, list) and len(value) >= 2 and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value) \
        and value == sorted(set(value))
    return None if ok else "a list of at least two increasing positive integers"


@dataclass(frozen=True)
class CpuGpuLab:
    """Lab 4: CPU versus GPU with an AlexNet-style CNN on Fashion-MNIST (timing done right,
    a bar chart, mixed precision, a batch-size sweep)."""

    template: ClassVar[str] = "cpu_vs_gpu"

    name: str = setting("lab4_cpu_vs_gpu", help="Assignment id in nbgrader (folder name under "
                        "source/, release/, submitted/).", rule=identifier)
    batch_size: int = setting(64, help="Batch size of the timed training runs.", rule=positive)
    train_batches: int = setting(
        20, help="Batches each timed training run measures (after its warm-up). Fixed, so "
        "training on a CPU grader stays short whatever the dataset's size.", rule=positive)
    inference_batch_size: int = setting(256, help="Batch size of the timed inference runs.",
                                        rule=positive)
    inference_batches: int = setting(10, help="Batches each timed inference run measures.",
                                     rule=positive)
    sweep_batch_sizes: list[int] = setting(
        default_factory=lambda: [32, 64, 128, 256], help="Batch sizes of the sweep.",
        rule=batch_sizes)
    sweep_batches: int = setting(5, help="Batches timed per batch size in the sweep.",
                                 rule=positive)
    points: CpuGpuPoints = setting(default_factory=CpuGpuPoints,
                                   help="Points of each graded cell.")

    def template_params(self) -> dict[str, Any]:
        return {
            "assignment": self.name,
            "batch_size": self.batch_size,
            "train_batches": self.train_batches,
            "inference_batch_size": self.inference_batch_size,
            "inference_batches": self.inference_batches,
            "sweep_sizes": self.sweep_batch_sizes,
            "sweep_batches": self.sweep_batches,
            "points": self.points,
        }


Lab = MnistLab | GpuBasicsLab | FashionAnnLab | CpuGpuLab  # one member per lab type


# --------------------------------------------------------------------------------------------
# The course.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Course:
    """Everything an instructor sets for a course run with gpukit."""

    course_id: str = setting(help="Course id in nbgrader's gradebook.", rule=identifier)
    assignments: list[Lab] = setting(help="The labs released in this course, in order.")
    data_dir: str = setting(
        "data", help="Directory holding the datasets (<data_dir>/mnist/...). Relative paths are "
        "relative to grading_config.py. The environment variable GPUKIT_DATA_DIR overrides it.")
    gpu_policy: Literal["require", "prefer", "ignore"] = setting(
        "prefer", help="require: GPU-only checks need a GPU grader and are flagged for regrade "
        "without one; prefer: use a GPU when present, grade the CPU path otherwise; ignore: "
        "never grade GPU-specific behaviour.", rule=one_of(*GPU_POLICIES))
    cell_timeout_s: int = setting(120, help="Seconds one notebook cell may run when grading.",
                                  rule=positive)
    notebook_timeout_s: int = setting(
        900, help="Seconds a whole notebook may run when grading (wall clock).", rule=positive)
    memory_limit_mb: int = setting(
        6144, help="Memory (resident, all of the grading kernel's processes together) a "
        "notebook may use when grading; past it the kernel is stopped and the submission gets "
        "status error.", rule=positive)
    process_limit: int = setting(
        64, help="Processes the grading kernel may run at once (DataLoader workers count); "
        "more (a fork bomb) stops the kernel.", rule=positive)
    cell_output_limit_kb: int = setting(
        1024, help="Output one graded cell may keep (kilobytes); the rest is dropped with a "
        "note, so an output flood cannot exhaust the grader.", rule=positive)
    sandbox: bool = setting(
        True, help="Run grading kernels without network and with the course files read-only "
        "and other students' files hidden (Linux namespaces; see THREAT_MODEL.md). Where the "
        "platform refuses, grading goes on and gpukit grade says so.")
    written_min_words: int = setting(
        20, help="Written answers shorter than this are flagged as incomplete in gpukit grade's "
        "records (their points stay manual).", rule=positive)
    gradebook_url: str = setting(
        "", help="nbgrader's gradebook: any database URL nbgrader accepts (SQLAlchemy's form, "
        "e.g. postgresql://grader@db.example/course); empty for nbgrader's default, the SQLite "
        "file gradebook.db in the course directory. Grading jobs use gradebooks of their own; "
        "only gpukit grade's one writer opens this one.", rule=database_url)

    def __post_init__(self) -> None:
        validate(self)

    def assignment(self, name: str) -> Lab:
        for lab in self.assignments:
            if lab.name == name:
                return lab
        known = ", ".join(lab.name for lab in self.assignments)
        raise ConfigError(f"No assignment named {name!r} in the course.",
                          hint=f"Use one of: {known}.")


# --------------------------------------------------------------------------------------------
# Validation.
# --------------------------------------------------------------------------------------------


def validate(obj: Any, path: str = "") -> None:
    """Check every field of a config dataclass, recursively; raise ConfigError if one is bad."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        where = f"{path}{f.name}"
        value = getattr(obj, f.name)
        _check_type(value, hints[f.name], where)
        rule = f.metadata.get("rule")
        problem = rule(value) if rule else None
        if problem:
            raise ConfigError(f"{CONFIG_FILE_NAME}: {where} = {value!r} is invalid: "
                              f"allowed values are {problem}.",
                              hint=f"Edit {where} in {CONFIG_FILE_NAME}. {f.metadata['help']}")
        if dataclasses.is_dataclass(value):
            validate(value, f"{where}.")
    if isinstance(obj, Course):
        _check_assignments(obj)


def _check_type(value: Any, hint: Any, where: str) -> None:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return  # the rule names the allowed values
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{CONFIG_FILE_NAME}: {where} must be a list, "
                              f"got {type(value).__name__}.")
        (item_type,) = typing.get_args(hint)
        for i, item in enumerate(value):
            _check_type(item, item_type, f"{where}[{i}]")
            if dataclasses.is_dataclass(item):
                validate(item, f"{where}[{i}].")
        return
    expected = _accepted_types(hint)
    # bool is an int in Python; a flag where a number is expected is a mistake worth reporting.
    if isinstance(value, bool) and bool not in expected:
        expected_ok = False
    else:
        expected_ok = isinstance(value, expected)
    if not expected_ok:
        names = [t.__name__ for t in expected]
        names = " or ".join(names) if len(names) < 3 else \
            ", ".join(names[:-1]) + " or " + names[-1]
        raise ConfigError(f"{CONFIG_FILE_NAME}: {where} must be {names}, "
                          f"got {value!r} ({type(value).__name__}).",
                          hint=f"Edit {where} in {CONFIG_FILE_NAME}.")


def _accepted_types(hint: Any) -> tuple[type, ...]:
    if hint is float:
        return (int, float)  # 2 points is as good as 2.0
    # Optional[X] and Union[X, Y] are typing.Union; X | Y (Python 3.10+) is types.UnionType.
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return tuple(a for arg in typing.get_args(hint) for a in _accepted_types(arg))
    return (hint,)


def _check_assignments(course: Course) -> None:
    if not course.assignments:
        raise ConfigError(f"{CONFIG_FILE_NAME}: assignments is empty.",
                          hint="List at least one lab, e.g. assignments=[MnistLab()].")
    seen: set[str] = set()
    for i, lab in enumerate(course.assignments):
        if lab.name in seen:
            raise ConfigError(f"{CONFIG_FILE_NAME}: assignments[{i}].name = {lab.name!r} is used "
                              "twice: assignment names must be unique.",
                              hint="Give each lab its own name=...")
        seen.add(lab.name)


# --------------------------------------------------------------------------------------------
# Loading.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedConfig:
    """A validated course and the directory of the grading_config.py it came from."""

    course: Course
    root: Path

    @property
    def data_dir(self) -> Path:
        """Where datasets are read from: $GPUKIT_DATA_DIR, else data_dir relative to root."""
        override = os.environ.get("GPUKIT_DATA_DIR")
        return Path(override) if override else (self.root / self.course.data_dir).resolve()

    @property
    def gradebook_url(self) -> str:
        """The course gradebook's database URL (nbgrader's CourseDirectory.db_url)."""
        return self.course.gradebook_url or f"sqlite:///{self.root / 'gradebook.db'}"

    @property
    def gradebook_file(self) -> Path | None:
        """The gradebook's SQLite file; None where it lives in a database server."""
        url = self.gradebook_url
        return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def find_config(start: Path | None = None) -> Path:
    """The grading_config.py in ``start`` or its nearest parent."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / CONFIG_FILE_NAME
        if candidate.is_file():
            return candidate
    raise ConfigError(f"No {CONFIG_FILE_NAME} in {here} or any parent directory.",
                      hint="Run gpukit from the course directory (the clone of the kit), "
                      "or pass --config PATH.")


def load_config(path: Path | str | None = None) -> LoadedConfig:
    """Run grading_config.py, check it binds ``config`` to a valid Course, and return it."""
    config_path = Path(path).resolve() if path else find_config()
    if not config_path.is_file():
        raise ConfigError(f"Config file {config_path} does not exist.",
                          hint="Pass the path of your grading_config.py with --config.")
    try:
        namespace = runpy.run_path(str(config_path))
    except ConfigError:
        raise
    except Exception as error:  # the instructor's file: report any failure with its location
        raise ConfigError(f"{config_path} failed to load: {type(error).__name__}: {error}",
                          hint="Fix the line named above; compare with the README's example.") \
            from error
    course = namespace.get("config")
    if not isinstance(course, Course):
        raise ConfigError(f"{config_path} must assign a gpukit.config.Course to the name "
                          f"'config' (found {type(course).__name__}).",
                          hint="End the file with: config = Course(course_id=..., "
                          "assignments=[...]).")
    return LoadedConfig(course=course, root=config_path.parent)


def explain(obj: Any = None, path: str = "") -> Iterator[str]:
    """Lines describing every field: its path, current value and help text."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield f"{path}{f.name}: {f.metadata['help']}"
            yield from explain(value, f"{path}{f.name}.")
        elif isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
            yield f"{path}{f.name}: {f.metadata['help']}"
            for i, item in enumerate(value):
                yield f"{path}{f.name}[{i}]: {type(item).__name__} ({type(item).__doc__})"
                yield from explain(item, f"{path}{f.name}[{i}].")
        else:
            yield f"{path}{f.name} = {value!r}: {f.metadata['help']}"
