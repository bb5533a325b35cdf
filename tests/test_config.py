"""grading_config.py: loading, validation, and the errors an instructor sees."""

from __future__ import annotations

import pytest

from gpukit.config import (
    Course,
    _accepted_types,
    explain,
    load_config,
)
from gpukit.errors import ConfigError
from gpukit.labs import KIT_LABS, core_mnist, gpu_basics
from tests.conftest import REPO, suite_course

VALID = 'course_id="c1", assignments=[core_mnist.Lab()]'


def test_repository_config_is_valid():
    """The instructor's file loads (whatever its points and thresholds: the rest of the suite
    builds the configuration it tests, tests/conftest.py's suite_course)."""
    loaded = load_config(REPO / "grading_config.py")
    assert {type(lab) for lab in loaded.course.assignments} <= set(KIT_LABS)
    assert loaded.root == REPO


def test_the_names_of_earlier_config_files_still_load(write_config):
    loaded = load_config(write_config(
        'course_id="c1", assignments=[MnistLab(points=MnistPoints(timing=3)), GpuBasicsLab()]',
        preamble="from gpukit.config import MnistLab, MnistPoints, GpuBasicsLab"))
    mnist, gpu = loaded.course.assignments
    assert (type(mnist), type(gpu)) == (core_mnist.Lab, gpu_basics.Lab)
    assert mnist.points.timing == 3


def test_defaults_follow_the_issue():
    lab = core_mnist.Lab()
    assert (lab.epochs, lab.keras_accuracy_threshold, lab.torch_accuracy_threshold) == (5, .97, .97)
    assert Course(course_id="c", assignments=[lab]).gpu_policy == "prefer"


@pytest.mark.parametrize(("arguments", "field", "allowed"), [
    (VALID + ', gpu_policy="required"', "gpu_policy", "'require', 'prefer', 'ignore'"),
    ('course_id="c1", assignments=[core_mnist.Lab(keras_accuracy_threshold=97)]',
     "assignments[0].keras_accuracy_threshold", "0 < value <= 1"),
    ('course_id="c1", assignments=[core_mnist.Lab(epochs=0)]', "assignments[0].epochs",
     "greater than 0"),
    ('course_id="c1", assignments=[core_mnist.Lab(points=core_mnist.Points(timing=-1))]',
     "assignments[0].points.timing", "0 or more"),
    (VALID + ", cell_timeout_s=-5", "cell_timeout_s", "greater than 0"),
    ('course_id="my course", assignments=[core_mnist.Lab()]', "course_id", "letters, digits"),
    ('course_id="c1", assignments=[core_mnist.Lab(name="lab 1")]', "assignments[0].name",
     "letters, digits"),
])
def test_bad_value_names_the_field_and_the_allowed_values(write_config, arguments, field,
                                                          allowed):
    with pytest.raises(ConfigError) as error:
        load_config(write_config(arguments))
    message = str(error.value)
    assert f"{field} = " in message
    assert allowed in message
    assert "What to do: Edit" in message


@pytest.mark.parametrize(("arguments", "needle"), [
    ('course_id="c1", assignments=[core_mnist.Lab(epochs="5")]',
     "assignments[0].epochs must be int"),
    ('course_id="c1", assignments=[core_mnist.Lab(epochs=True)]',
     "assignments[0].epochs must be int"),
    ('course_id="c1", assignments=core_mnist.Lab()', "assignments must be a list"),
    ('course_id="c1", assignments=[]', "assignments is empty"),
    ('course_id="c1", assignments=[core_mnist.Lab(), core_mnist.Lab()]', "is used twice"),
])
def test_wrong_types_and_shapes_are_reported(write_config, arguments, needle):
    with pytest.raises(ConfigError, match=None) as error:
        load_config(write_config(arguments))
    assert needle in str(error.value)


def test_integer_points_are_accepted_for_float_fields(write_config):
    loaded = load_config(write_config(
        'course_id="c1", assignments=[core_mnist.Lab(points=core_mnist.Points(keras_accuracy=6))]'))
    assert loaded.course.assignments[0].points.total() == core_mnist.Points().total() + 2


def test_unknown_keyword_is_reported_with_its_location(write_config):
    with pytest.raises(ConfigError) as error:
        load_config(write_config('course_id="c1", assignments=[core_mnist.Lab(epoch=5)]'))
    assert "failed to load" in str(error.value) and "epoch" in str(error.value)


def test_file_without_config_object(tmp_path):
    path = tmp_path / "grading_config.py"
    path.write_text("course = 1\n")
    with pytest.raises(ConfigError, match="must assign a gpukit.config.Course"):
        load_config(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.py")


def test_config_is_found_from_a_subdirectory(tmp_path, write_config, monkeypatch):
    write_config(VALID)
    (tmp_path / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "deep" / "er")
    assert load_config().course.course_id == "c1"


def test_no_config_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="No grading_config.py"):
        load_config()


def test_data_dir_is_relative_to_the_config_and_overridden_by_env(write_config, tmp_path,
                                                                  monkeypatch):
    monkeypatch.delenv("GPUKIT_DATA_DIR", raising=False)
    loaded = load_config(write_config(VALID + ', data_dir="datasets"'))
    assert loaded.data_dir == tmp_path / "datasets"
    monkeypatch.setenv("GPUKIT_DATA_DIR", "/elsewhere")
    assert str(loaded.data_dir) == "/elsewhere"


def test_every_field_is_explained():
    lines = list(explain(suite_course()))
    assert any(line.startswith("gpu_policy = 'prefer': require:") for line in lines)
    assert any("assignments[0].points.q_relu = 2" in line for line in lines)
    assert all(": " in line and not line.endswith(": ") for line in lines)


GPU_PREAMBLE = ""


def test_labs_of_different_types_share_one_course(write_config):
    loaded = load_config(write_config(
        'course_id="c1", assignments=[core_mnist.Lab(), gpu_basics.Lab(memory_tensor_mb=8, '
        'points=gpu_basics.Points(forward_on=4))]', preamble=GPU_PREAMBLE))
    mnist, gpu = loaded.course.assignments
    assert (mnist.lab_id, gpu.lab_id) == ("core_mnist", "gpu_basics")
    assert gpu.name == "gpu_basics" and gpu.memory_tensor_mb == 8
    assert gpu.points.total() == gpu_basics.Points().total() + 1


@pytest.mark.parametrize(("arguments", "needle"), [
    ('course_id="c1", assignments=[core_mnist.Lab(), "lab2"]',
     "assignments[1] must be LabSettings, got 'lab2' (str)"),
    ('course_id="c1", assignments=[gpu_basics.Lab(memory_tensor_mb=0)]',
     "assignments[0].memory_tensor_mb = 0 is invalid"),
    ('course_id="c1", assignments=[gpu_basics.Lab(memory_tensor_mb=1.5)]',
     "assignments[0].memory_tensor_mb must be int"),
    ('course_id="c1", assignments=[gpu_basics.Lab(points=gpu_basics.Points(gpu_memory=-1))]',
     "assignments[0].points.gpu_memory = -1 is invalid"),
    ('course_id="c1", assignments=[core_mnist.Lab(name="x"), gpu_basics.Lab(name="x")]',
     "is used twice"),
])
def test_gpu_basics_lab_is_validated(write_config, arguments, needle):
    with pytest.raises(ConfigError) as error:
        load_config(write_config(arguments, preamble=GPU_PREAMBLE))
    assert needle in str(error.value)


def test_both_union_spellings_are_accepted():
    import typing

    mnist, gpu = core_mnist.Lab, gpu_basics.Lab
    assert _accepted_types(mnist | gpu) == (mnist, gpu)
    union = typing.Union[mnist, gpu]  # noqa: UP007  (the older spelling, on purpose)
    assert _accepted_types(union) == (mnist, gpu)
    assert _accepted_types(typing.Optional[float]) == (int, float, type(None))  # noqa: UP045
