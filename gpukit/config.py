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
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gpukit.errors import ConfigError
from gpukit.labs.base import LabSettings
from gpukit.settings import fraction, identifier, one_of, positive, setting

CONFIG_FILE_NAME = "grading_config.py"
GPU_POLICIES = ("require", "prefer", "ignore")


BOILERPLATE_SUFFIXES = (".py", ".ipynb", ".md", ".txt")


def boilerplate_files(value: Any) -> str | None:
    if all(isinstance(name, str) and name.endswith(BOILERPLATE_SUFFIXES) for name in value):
        return None
    return "a list of file names ending in " + ", ".join(BOILERPLATE_SUFFIXES)


def database_url(value: Any) -> str | None:
    if value == "" or re.fullmatch(r"[a-z][a-z0-9+_]*://.*", value):
        return None
    return ("a database URL as SQLAlchemy writes it (sqlite:////abs/path.db, "
            "postgresql://user@host/db, mysql+pymysql://...), or \"\" for gradebook.db here")


Lab = LabSettings  # any lab's settings: gpukit/labs/base.py


def __getattr__(name: str) -> Any:
    """The kit's labs under the names older grading_config.py files import from here
    (``from gpukit.config import MnistLab``): found in gpukit/labs/aliases.py, so this module
    imports no lab."""
    from gpukit.labs.aliases import ALIASES

    if name in ALIASES:
        return ALIASES[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------------------------
# The course.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Course:
    """Everything an instructor sets for a course run with gpukit."""

    course_id: str = setting(help="Course id in nbgrader's gradebook.", rule=identifier)
    assignments: list[LabSettings] = setting(help="The labs released in this course, in order.")
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
    similarity_threshold: float = setting(
        0.5, help="gpukit similarity and the class report list a pair of submissions when at "
        "least this share of what one of them wrote themselves (their code, or their written "
        "answers: what is neither given by the release nor common to many of the class), in "
        "their whole notebook or in one answer cell, matches the other's, in passages of about "
        "four lines of code or a sentence or two at least. "
        "1.0 lists only complete copies; lower lists more. Pairs are for a person to look at: "
        "no grade changes.", rule=fraction)
    similarity_common_share: float = setting(
        0.05, help="A passage found in at least this share of an assignment's submissions (and "
        "in 5 of them at least) is common ground, the template or a tutorial many follow, and "
        "never counts as copying: 0.05 is 15 of 300 students.", rule=fraction)
    similarity_boilerplate: list[str] = setting(
        default_factory=list, help="Files (relative to grading_config.py: .py, .ipynb, .md or "
        ".txt) whose code and text count as given, like the release's, for every assignment: "
        "the official tutorials students are pointed to, so that two students who follow the "
        "same one are not listed.", rule=boilerplate_files)
    gradebook_url: str = setting(
        "", help="nbgrader's gradebook: any database URL nbgrader accepts (SQLAlchemy's form, "
        "e.g. postgresql://grader@db.example/course); empty for nbgrader's default, the SQLite "
        "file gradebook.db in the course directory. Grading jobs use gradebooks of their own; "
        "only gpukit grade's one writer opens this one.", rule=database_url)

    def __post_init__(self) -> None:
        validate(self)

    def assignment(self, name: str) -> LabSettings:
        for lab in self.assignments:
            if lab.name == name:
                return lab
        known = ", ".join(lab.name for lab in self.assignments)
        raise ConfigError(f"No assignment named {name!r} in the course.",
                          hint=f"Use one of: {known}.")

    def lab(self, lab_id: str) -> LabSettings:
        """The course's assignment of the lab ``lab_id`` (whatever the course named it)."""
        for lab in self.assignments:
            if lab.lab_id == lab_id:
                return lab
        known = ", ".join(lab.lab_id for lab in self.assignments)
        raise ConfigError(f"The course has no assignment of the lab {lab_id!r}.",
                          hint=f"Its labs: {known}; add the lab to assignments in "
                          f"{CONFIG_FILE_NAME}.")


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


def config_file(path: Path | str | None = None) -> Path:
    """``path`` (it must exist), or the grading_config.py found from the current directory."""
    config_path = Path(path).resolve() if path else find_config()
    if not config_path.is_file():
        raise ConfigError(f"Config file {config_path} does not exist.",
                          hint="Pass the path of your grading_config.py with --config.")
    return config_path


def load_config(path: Path | str | None = None) -> LoadedConfig:
    """Run grading_config.py, check it binds ``config`` to a valid Course, and return it."""
    config_path = config_file(path)
    # An instructor's own labs live in labs/ beside grading_config.py, imported as labs.<lab>.
    if str(config_path.parent) not in sys.path:
        sys.path.append(str(config_path.parent))
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


def python_source(course: Course) -> str:
    """A grading_config.py that builds ``course`` again: every setting spelled out, each lab by
    its module's full name (a snapshot of the course for grading jobs)."""
    modules: set[str] = set()

    def source(value: Any) -> str:
        if dataclasses.is_dataclass(value):
            cls = type(value)
            modules.add(cls.__module__)
            arguments = ", ".join(f"{f.name}={source(getattr(value, f.name))}"
                                  for f in dataclasses.fields(value))
            return f"{cls.__module__}.{cls.__qualname__}({arguments})"
        if isinstance(value, list):
            return "[" + ", ".join(source(item) for item in value) + "]"
        return repr(value)

    built = source(course)
    imports = "".join(f"import {module}\n" for module in sorted(modules))
    return f"{imports}\nconfig = {built}\n"


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
                yield f"{path}{f.name}[{i}]: {item.lab_id} ({type(item).__doc__})"
                yield from explain(item, f"{path}{f.name}[{i}].")
        else:
            yield f"{path}{f.name} = {value!r}: {f.metadata['help']}"
