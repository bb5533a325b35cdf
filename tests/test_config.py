"""grading_config.py: loading, validation, and the errors an instructor sees."""

from __future__ import annotations

import pytest

from gpukit.config import (
    Course,
    GpuBasicsLab,
    GpuBasicsPoints,
    MnistLab,
    MnistPoints,
    _accepted_types,
    explain,
    load_config,
)
from gpukit.errors import ConfigError
from tests.conftest import REPO

VALID = 'course_id="c1", assignments=[MnistLab()]'


def test_repository_config_is_valid():
    loaded = load_config(REPO / "grading_config.py")
    assert loaded.course.assignments[0].keras_accuracy_threshold == 0.97
    assert loaded.course.assignments[0].torch_accuracy_threshold == 0.97
    assert loaded.root == REPO


def test_defaults_follow_the_issue():
    lab = MnistLab()
    assert (lab.epochs, lab.keras_accuracy_threshold, lab.torch_accuracy_threshold) == (5, .97, .97)
    assert Course(course_id="c", assignments=[lab]).gpu_policy == "prefer"


@pytest.mark.parametrize(("arguments", "field", "allowed"), [
    (VALID + ', gpu_policy="required"', "gpu_policy", "'require', 'prefer', 'ignore'"),
    ('course_id="c1", assignments=[MnistLab(keras_accuracy_threshold=97)]',
     "assignments[0].keras_accuracy_threshold", "0 < value <= 1"),
    ('course_id="c1", assignments=[MnistLab(epochs=0)]', "assignments[0].epochs",
     "greater than 0"),
    ('course_id="c1", assignments=[MnistLab(points=MnistPoints(timing=-1))]',
     "assignments[0].points.timing", "0 or more"),
    (VALID + ", cell_timeout_s=-5", "cell_timeout_s", "greater than 0"),
    ('course_id="my course", assignments=[MnistLab()]', "course_id", "letters, digits"),
    ('course_id="c1", assignments=[MnistLab(name="lab 1")]', "assignments[0].name",
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
    ('course_id="c1", assignments=[MnistLab(epochs="5")]', "assignments[0].epochs must be int"),
    ('course_id="c1", assignments=[MnistLab(epochs=True)]', "assignments[0].epochs must be int"),
    ('course_id="c1", assignments=MnistLab()', "assignments must be a list"),
    ('course_id="c1", assignments=[]', "assignments is empty"),
    ('course_id="c1", assignments=[MnistLab(), MnistLab()]', "is used twice"),
])
def test_wrong_types_and_shapes_are_reported(write_config, arguments, needle):
    with pytest.raises(ConfigError, match=None) as error:
        load_config(write_config(arguments))
    assert needle in str(error.value)


def test_integer_points_are_accepted_for_float_fields(write_config):
    loaded = load_config(write_config(
        'course_id="c1", assignments=[MnistLab(points=MnistPoints(keras_accuracy=6))]'))
    assert loaded.course.assignments[0].points.total() == MnistPoints().total() + 2


def test_unknown_keyword_is_reported_with_its_location(write_config):
    with pytest.raises(ConfigError) as error:
        load_config(write_config('course_id="c1", assignments=[MnistLab(epoch=5)]'))
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
    lines = list(explain(load_config(REPO / "grading_config.py").course))
    assert any(line.startswith("gpu_policy = 'prefer': require:") for line in lines)
    assert any("assignments[0].points.q_relu = 2" in line for line in lines)
    assert all(": " in line and not line.endswith(": ") for line in lines)


GPU_PREAMBLE = "from gpukit.config import GpuBasicsLab, GpuBasicsPoints"


def test_labs_of_different_types_share_one_course(write_config):
    loaded = load_config(write_config(
        'course_id="c1", assignments=[MnistLab(), GpuBasicsLab(memory_tensor_mb=8, '
        'points=GpuBasicsPoints(forward_on=4))]', preamble=GPU_PREAMBLE))
    mnist, gpu = loaded.course.assignments
    assert (mnist.template, gpu.template) == ("core_mnist", "gpu_basics")
    assert gpu.name == "lab2_gpu_basics" and gpu.memory_tensor_mb == 8
    assert gpu.points.total() == GpuBasicsPoints().total() + 1


@pytest.mark.parametrize(("arguments", "needle"), [
    ('course_id="c1", assignments=[MnistLab(), "lab2"]',
     "assignments[1] must be MnistLab, GpuBasicsLab, FashionAnnLab or CpuGpuLab, got 'lab2' (str)"),
    ('course_id="c1", assignments=[GpuBasicsLab(memory_tensor_mb=0)]',
     "assignments[0].memory_tensor_mb = 0 is invalid"),
    ('course_id="c1", assignments=[GpuBasicsLab(memory_tensor_mb=1.5)]',
     "assignments[0].memory_tensor_mb must be int"),
    ('course_id="c1", assignments=[GpuBasicsLab(points=GpuBasicsPoints(gpu_memory=-1))]',
     "assignments[0].points.gpu_memory = -1 is invalid"),
    ('course_id="c1", assignments=[MnistLab(name="x"), GpuBasicsLab(name="x")]',
     "is used twice"),
])
def test_gpu_basics_lab_is_validated(write_config, arguments, needle):
    with pytest.raises(ConfigError) as error:
        load_config(write_config(arguments, preamble=GPU_PREAMBLE))
    assert needle in str(error.value)


def test_both_union_spellings_are_accepted():
    import typing

    assert _accepted_types(MnistLab | GpuBasicsLab) == (MnistLab, GpuBasicsLab)
    union = typing.Union[MnistLab, GpuBasicsLab]  # noqa: UP007  (the older spelling, on purpose)
    assert _accepted_types(union) == (MnistLab, GpuBasicsLab)
    assert _accepted_types(typing.Optional[float]) == (int, float, type(None))  # noqa: UP045
