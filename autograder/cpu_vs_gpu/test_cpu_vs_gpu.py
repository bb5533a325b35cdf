# Written by `gpukit release` from the kit's gpukit/labs/cpu_vs_gpu/checks.py
# and grading_config.py: change those, then run `gpukit release`; never edit this file.
# The grading kernel runs each test_<grade id> below on the student's live notebook
# (gpukit/grading/runner.py); `pytest autograder/cpu_vs_gpu --notebook PATH` runs them all.

"""Hidden checks of lab 4 (CPU versus GPU with an AlexNet-style CNN).

Each ``test_<name>`` is one graded cell of the notebook (grade id ``<name>``), run inside the
grading kernel by ``gpukit.grading.check``. The fixtures: ``nb`` (the student's namespace),
``lab`` (the lab's settings as released: settings.json beside this file in autograder/) and
``grader`` (the machine and policy).

Every failure message is one sentence for the student: it says what is wrong, never the check's
code or the expected value.

**How a timing function is graded.** A time measured on the student's model proves nothing by
itself, so the grader hands the student's timing functions a model of its own, :class:`PacedNet`,
whose every forward pass takes a known time ``STEP_S`` and which records when each forward pass
started and when its forward and backward passes ended. A correct function that times ``batches``
steps after its warm-up started its clock between the end of the last warm-up step's work and the
start of the first timed forward pass, so the grader knows the range its result must fall in (the
bookkeeping of every step included, whatever the machine's speed): one step too few means steps
were skipped, one more means the warm-up was timed too. The garbage collector is paused while a
timing function runs, so its pauses cannot widen the range. On a GPU grader the paced model
*queues* a GPU kernel of that length (``torch.cuda._sleep``) instead of sleeping, so only a
function that synchronizes before reading the clock measures it; the model records CUDA events
around its work, and the result is judged against the GPU's own record of that work
(gpukit/grading/timing.py: QueuedWork), never against a GPU speed measured beforehand (a GPU's
clock changes from call to call). The model also records, at every
forward pass, the batch size, the training mode, whether gradients and autocast were on, and
(through gpukit/grading/placement.py) where its inputs and parameters were.

The times the notebook reports are cross-checked against the grader's cell clock
(gpukit_student/clock.py): each must be the difference of two clock readings taken in the cell
that set it, and no longer than that cell: a time scaled, rounded or typed afterwards is not.
"""

from __future__ import annotations

import copy
import statistics
import time
from dataclasses import dataclass
from itertools import pairwise
from unittest import mock

import torch
from torch import nn

from gpukit.grading.architecture import MAX_POOL, RELU, Conv2d, Linear, Network, check_model
from gpukit.grading.basics import call, check_device_selection, fail, fail_on, notebook_global
from gpukit.grading.observed import check_gradients, check_mode, check_placement, observe
from gpukit.grading.timing import (
    QueuedWork,
    check_against_clock,
    check_gpu_time,
    clock_readings_during,
    reading_span,
    reported_seconds,
)
from gpukit.grading.values import check_keys, plain_number, same_plain_value
from gpukit_student.clock import _perf_counter as grader_clock  # not among the readings

STEP_S = 0.1         # the paced model's time per forward pass
TIMED_BATCHES = 4    # batches the grader asks the timing functions to time
WARMUP = 2           # the timing functions' default warm-up
GRADER_BATCH = 8
# Beyond the range the records allow, half a step of slack: a step more or less is wrong.
SLACK_S = 0.5 * STEP_S
TIME_KEYS = ("cpu_train_s", "gpu_train_s", "cpu_infer_s", "gpu_infer_s")
ALEXNET_STYLE = Network("AlexNetStyle", (Conv2d(1, 64, 3, padding=1), RELU, MAX_POOL,
                                         Conv2d(64, 128, 3, padding=1), RELU, MAX_POOL,
                                         Linear(128 * 7 * 7, 512), RELU, Linear(512, 10)),
                        (1, 28, 28))


@dataclass
class StepRecord:
    started: float  # the grader's clock (perf_counter) at the start of the forward pass
    batch: int
    training: bool
    grad_enabled: bool
    autocast: bool


class PacedNet(nn.Module):
    """A one-layer model whose every forward pass takes STEP_S (see the module docstring)."""

    def __init__(self, gpu_kernel_cycles: int | None = None) -> None:
        super().__init__()
        torch.manual_seed(99)
        self.linear = nn.Linear(28 * 28, 10)
        self.gpu_kernel_cycles = gpu_kernel_cycles  # None: sleep on the host, even on a GPU
        self.steps: list[StepRecord] = []
        self.work_ended: list[float] = []  # when each forward and each backward pass ended
        # On the GPU: ("start" | "end", CUDA event) around every forward's and backward's work.
        self.gpu_marks: list[tuple[str, torch.cuda.Event]] = []
        self.linear.weight.register_post_accumulate_grad_hook(lambda _: self._work_ended())

    def _work_ended(self) -> None:
        self.work_ended.append(grader_clock())
        if self.gpu_kernel_cycles is not None and self.linear.weight.is_cuda:
            self._mark("end")

    def _mark(self, kind: str) -> None:
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        self.gpu_marks.append((kind, event))

    def queued_work(self) -> QueuedWork:
        """The GPU's record of the work queued (call once the GPU has finished)."""
        first = self.gpu_marks[0][1]
        return QueuedWork.from_marks([(kind, first.elapsed_time(event) / 1000)
                                      for kind, event in self.gpu_marks], WARMUP)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.steps.append(StepRecord(grader_clock(), len(x), self.training,
                                     torch.is_grad_enabled(),
                                     torch.is_autocast_enabled(x.device.type)))
        on_gpu = self.gpu_kernel_cycles is not None and x.is_cuda
        if on_gpu:
            self._mark("start")
            torch.cuda._sleep(self.gpu_kernel_cycles)  # queued: returns at once
        else:
            time.sleep(STEP_S)
        out = self.linear(x.flatten(1))
        self.work_ended.append(grader_clock())
        if on_gpu:
            self._mark("end")
        return out


def gpu_cycles_per_second() -> float:
    """The rate of torch.cuda._sleep's spin loop on this GPU, measured with synchronization:
    it sizes the paced steps (about STEP_S each; the GPU's clock may change afterwards, and the
    verdict does not depend on it)."""
    rate = 0.0
    for _ in range(2):  # the first call may run on a cold GPU, at a lower clock
        torch.cuda.synchronize()
        start = grader_clock()
        torch.cuda._sleep(50_000_000)
        torch.cuda.synchronize()
        rate = 50_000_000 / (grader_clock() - start)
    return rate


def grader_images(count: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.rand(count, 1, 28, 28), torch.randint(0, 10, (count,))


def weights_changed(model: nn.Module, before: dict) -> bool:
    return any(not torch.equal(before[k], v.detach().cpu()) for k, v in model.state_dict().items())


def check_paced_time(seconds, what: str, model: PacedNet, returned_at: float,
                     readings: dict[str, list[float]] | None = None) -> float:
    """The returned seconds, once they fall in the range the model's records allow and are no
    longer than the span of the clock readings the function took (``readings``; else fail)."""
    reported = plain_number(seconds)
    if reported is None or reported <= 0:
        fail(f"{what} must return the measured time in seconds, as a float.")
    first_timed = model.steps[WARMUP].started
    warmup_done = max((t for t in model.work_ended if t <= first_timed), default=first_timed)
    shortest, longest = returned_at - first_timed, returned_at - warmup_done
    if reported < shortest - SLACK_S:
        fail(f"{what} returned {reported:.3f} s, but its {TIMED_BATCHES} timed steps of the "
             f"grader's model took {shortest:.3f} s: time every step it was asked for.")
    if reported > longest + SLACK_S:
        fail(f"{what} returned {reported:.3f} s, but its {TIMED_BATCHES} timed steps of the "
             f"grader's model took {shortest:.3f} s: start the clock after the warm-up steps.")
    check_measured_by_function(reported, what, readings)
    return reported


def check_measured_by_function(reported: float, what: str,
                               readings: dict[str, list[float]] | None) -> None:
    """The result is no longer than the span of the clock readings the function took while it
    ran: a time scaled up from some of the steps is longer, however alike the steps. No rule
    where the readings are not recorded (outside a grading kernel) or no Python clock was read
    (CUDA events)."""
    span = reading_span(readings) if readings is not None else None
    if span is not None and reported > span + 1e-6:
        fail(f"{what} returned {reported:.3f} s, more than the {span:.3f} s between the first "
             "and the last clock reading it took: time all the steps it is asked for, between "
             "readings taken before and after them, rather than scaling a time up.")


def check_steps(model: PacedNet, what: str, batch_size: int = GRADER_BATCH) -> None:
    expected = WARMUP + TIMED_BATCHES
    if len(model.steps) < expected:
        fail(f"{what} ran {len(model.steps)} steps; it must run its {WARMUP} warm-up steps "
             f"and then the {TIMED_BATCHES} timed ones.")
    if len(model.steps) > expected:
        fail(f"{what} ran {len(model.steps)} steps: exactly {WARMUP} warm-up steps and "
             f"{TIMED_BATCHES} timed ones.")
    if any(step.batch != batch_size for step in model.steps):
        fail(f"{what} must feed batches of batch_size images.")


def run_placed(nb, grader, function, model: PacedNet, data: tuple, *, what: str):
    """``function(model, *data, device, GRADER_BATCH, TIMED_BATCHES)`` on the grading device,
    observed (gpukit/grading/observed.py), with the garbage collector paused; the clock
    readings it took are the observation's ``readings``."""
    with clock_readings_during() as readings:
        seen = observe(nb, grader, model,
                       lambda d: call(function, model, *data, d, GRADER_BATCH, TIMED_BATCHES,
                                      what=what),
                       pause_gc=True)
    seen.readings = readings
    return seen


# ---------------------------------------------------------------------------------------------
# Part 1: device and CNN.
# ---------------------------------------------------------------------------------------------


def test_device(nb, grader):
    check_device_selection(nb, grader.gpu_available)


def test_cnn_model(nb):
    """What the model computes from its own weights (gpukit/grading/architecture.py): modules
    or F.relu / F.max_pool2d, Sequential or attributes, view or Flatten all pass."""
    model = call(nb.AlexNetStyle, what="AlexNetStyle()")
    if not isinstance(model, nn.Module):
        fail("AlexNetStyle must be an nn.Module.")
    fail_on(check_model(model, ALEXNET_STYLE))


# ---------------------------------------------------------------------------------------------
# Part 2: timing functions, on the grader's paced model.
# ---------------------------------------------------------------------------------------------


def test_training_timing(nb, grader):
    model = PacedNet()
    model.eval()  # time_training must switch to training mode itself
    before = copy.deepcopy(model.state_dict())
    x, y = grader_images((WARMUP + TIMED_BATCHES) * GRADER_BATCH)
    seen = run_placed(nb, grader, nb.time_training, model, (x, y),
                      what="time_training(model, x, y, device, 8, 4)")
    check_steps(model, "time_training()")
    check_mode(seen, "time_training()", training=True)
    check_gradients(seen, "time_training()", enabled=True)
    check_placement(seen, "time_training()")
    model.to("cpu")
    if not weights_changed(model, before):
        fail("time_training() does not train: back-propagate the loss and step the optimizer.")
    check_paced_time(seen.returned, "time_training()", model, seen.returned_at, seen.readings)


def test_inference_timing(nb, grader):
    model = PacedNet()
    model.train()  # time_inference must switch to evaluation mode itself
    x, _ = grader_images((WARMUP + TIMED_BATCHES) * GRADER_BATCH)
    seen = run_placed(nb, grader, nb.time_inference, model, (x,),
                      what="time_inference(model, x, device, 8, 4)")
    check_steps(model, "time_inference()")
    check_mode(seen, "time_inference()", training=False)
    check_gradients(seen, "time_inference()", enabled=False)
    check_placement(seen, "time_inference()")
    check_paced_time(seen.returned, "time_inference()", model, seen.returned_at, seen.readings)


def check_measured_in_cell(nb, grader, name: str) -> None:
    """The variable ``name`` is a time the cell that set it measured (a difference of two of its
    clock readings, no longer than the cell)."""
    check_against_clock(grader, name, reported_seconds(nb, name),
                        hint="keep the given cell that sets it, and run the setup cell first.")


def test_timing_report(nb, grader):
    times = check_keys(nb.times, TIME_KEYS, "times")
    for key in TIME_KEYS:
        if not same_plain_value(times[key], getattr(nb, key)):
            fail(f"times[{key!r}] is not the `{key}` you measured.")
    gpu = grader.gpu_available
    for key in ("gpu_train_s", "gpu_infer_s"):
        if not gpu and times[key] is not None:
            fail(f"times[{key!r}] must be None on a machine without a GPU.")
        if gpu and times[key] is None:
            fail(f"times[{key!r}] is None although this machine has a GPU.")
    for key in TIME_KEYS:
        if times[key] is not None:
            check_measured_in_cell(nb, grader, key)


def test_gpu_timing(nb, grader):
    grader.require_gpu("Timing on the GPU with synchronization")
    cuda = torch.device("cuda")
    cycles = int(STEP_S * gpu_cycles_per_second())
    x, y = grader_images((WARMUP + TIMED_BATCHES) * GRADER_BATCH)
    for name, function, args in (("time_training()", nb.time_training, (x, y)),
                                 ("time_inference()", nb.time_inference, (x,))):
        model = PacedNet(gpu_kernel_cycles=cycles)
        with clock_readings_during() as readings:
            seconds = call(function, model, *args, cuda, GRADER_BATCH, TIMED_BATCHES,
                           what=f"{name} on the GPU")
        torch.cuda.synchronize()
        check_steps(model, name)
        reported = plain_number(seconds)
        check_gpu_time(reported, model.queued_work(), name)
        check_measured_by_function(reported, f"{name} on the GPU", readings)


# ---------------------------------------------------------------------------------------------
# Part 3: the bar chart, drawn from the grader's numbers.
# ---------------------------------------------------------------------------------------------


GRADER_TIMES = ({"cpu_train_s": 2.75, "gpu_train_s": 0.125, "cpu_infer_s": 1.5,
                 "gpu_infer_s": 0.0625},
                {"cpu_train_s": 3.25, "gpu_train_s": None, "cpu_infer_s": 0.875,
                 "gpu_infer_s": None})


def check_bar_chart(figure, sample: dict) -> None:
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    if not isinstance(figure, Figure):
        fail("plot_times() must return the matplotlib Figure it draws on.")
    figure.canvas.draw()  # lays out the tick labels
    measured = {k: v for k, v in sample.items() if v is not None}
    heights = sorted(p.get_height() for ax in figure.axes for p in ax.patches
                     if isinstance(p, Rectangle))
    if len(heights) != len(measured) or any(
            abs(h - v) > 1e-9 for h, v in zip(heights, sorted(measured.values()), strict=True)):
        fail("plot_times() must draw one bar per measured time, as high as the time (and no bar "
             "for None).")
    labels = {t.get_text() for ax in figure.axes for t in ax.get_xticklabels()}
    if not set(measured) <= labels:
        fail("plot_times() must label each bar with its key.")
    if not any(ax.get_ylabel().strip() for ax in figure.axes):
        fail("plot_times() must label the y axis (seconds).")


def test_bar_chart(nb):
    import matplotlib.pyplot as plt

    for sample in GRADER_TIMES:
        figure = call(nb.plot_times, dict(sample), what="plot_times(times)")
        try:
            check_bar_chart(figure, sample)
        finally:
            plt.close("all")  # the grader's figures are not the student's to see


# ---------------------------------------------------------------------------------------------
# Part 4: mixed precision.
# ---------------------------------------------------------------------------------------------


def test_amp(nb, grader):
    check_amp_run(nb, grader)
    check_measured_in_cell(nb, grader, "amp_train_s")


def check_amp_run(nb, grader) -> None:
    """train_amp() on the paced model: autocast, the scaler, placement, training and timing;
    everything test_amp checks but the notebook's own reported time (scripts/gpu-acceptance
    calls it without a notebook clock)."""
    model = PacedNet()
    before = copy.deepcopy(model.state_dict())
    x, y = grader_images((WARMUP + TIMED_BATCHES) * GRADER_BATCH)
    scaled: list[int] = []
    original_scale = torch.amp.GradScaler.scale

    def counting_scale(scaler, outputs):
        scaled.append(1)
        return original_scale(scaler, outputs)

    with mock.patch.object(torch.amp.GradScaler, "scale", counting_scale):
        seen = run_placed(nb, grader, nb.train_amp, model, (x, y),
                          what="train_amp(model, x, y, device, 8, 4)")
    check_steps(model, "train_amp()")
    if not all(step.autocast for step in model.steps):
        fail("train_amp() must run the forward pass inside torch.autocast(device_type="
             "device.type, ...).")
    if len(scaled) < len(model.steps):
        fail("train_amp() must scale every step's loss with the GradScaler: "
             "scaler.scale(loss).backward().")
    check_placement(seen, "train_amp()")
    model.to("cpu")
    if not weights_changed(model, before):
        fail("train_amp() does not train: step the optimizer through the scaler.")
    check_paced_time(seen.returned, "train_amp()", model, seen.returned_at, seen.readings)


# ---------------------------------------------------------------------------------------------
# Part 5: the batch-size sweep.
# ---------------------------------------------------------------------------------------------


SWEEP_SIZES = [4, 8, 16]
SWEEP_BATCHES = 3


def reference_time_training(model, x, y, device, batch_size, batches, warmup=WARMUP) -> float:
    """The grader's time_training, given to the notebook's sweep while it is graded: the sweep
    check grades the sweep, and the notebook's time_training has its own check."""
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    start = 0.0
    for i in range(warmup + batches):
        if i == warmup:
            start = time.perf_counter()
        xb = x[i * batch_size:(i + 1) * batch_size].to(device)
        yb = y[i * batch_size:(i + 1) * batch_size].to(device)
        optimizer.zero_grad()
        loss_fn(model(xb), yb).backward()
        optimizer.step()
    return time.perf_counter() - start


def test_sweep(nb):
    created: list[PacedNet] = []

    def make_model() -> PacedNet:
        created.append(PacedNet())
        return created[-1]

    x, y = grader_images((WARMUP + SWEEP_BATCHES) * max(SWEEP_SIZES))
    with notebook_global(nb, "time_training", reference_time_training):
        result = call(nb.sweep_batch_sizes, make_model, x, y, torch.device("cpu"),
                      list(SWEEP_SIZES), SWEEP_BATCHES,
                      what="sweep_batch_sizes(make_model, x, y, device, sizes, 3)")
    if type(result) is not dict or list(result) != SWEEP_SIZES:
        fail("sweep_batch_sizes() must return a dict with one entry per batch size, in order.")
    if len(created) != len(SWEEP_SIZES) or len({id(m) for m in created}) != len(SWEEP_SIZES):
        fail("sweep_batch_sizes() must create a fresh model with make_model() for each batch "
             "size.")
    for size, model in zip(SWEEP_SIZES, created, strict=True):
        rate = plain_number(result[size])
        # The model's steps after its warm-up, as the grader saw them start: size images each.
        starts = [step.started for step in model.steps[WARMUP:]]
        step_s = statistics.median(b - a for a, b in pairwise(starts)) \
            if len(starts) > 1 else STEP_S
        expected = size / step_s
        if rate is None or not 0.8 * expected <= rate <= 1.25 * expected:
            fail("sweep_batch_sizes() does not report images per second: divide the images of "
                 "the timed batches (batch size × batches) by the seconds time_training() "
                 "measured.")
