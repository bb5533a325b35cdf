"""The datasets a lab's notebook loads, present and whole in the course's data directory:
checked before any notebook runs (gpukit grade's pre-flight, plain pytest on autograder/), so a
missing file is said as the grading environment's fault, never scored as the student's."""

from __future__ import annotations

from collections.abc import Callable

from gpukit.config import Lab, LoadedConfig
from gpukit.errors import GpukitError
from gpukit_student.data import resolve_spec, verify_dataset


def check_datasets(loaded: LoadedConfig, lab: Lab, say: Callable[[str], None] = print) -> None:
    """Stop with what to do when a dataset of ``lab`` is missing or damaged."""
    for name in lab.datasets:
        spec = resolve_spec(name, loaded.data_dir)
        statuses = verify_dataset(spec, loaded.data_dir)
        broken = [status for status in statuses if not status.ok]
        if broken:
            hints = dict.fromkeys(status.hint for status in broken if status.hint)
            raise GpukitError(
                f"The lab {lab.name} needs the dataset {name}, and "
                f"{', '.join(status.filename for status in broken)} in {loaded.data_dir / name}"
                f" {'is' if len(broken) == 1 else 'are'} missing or damaged. Nothing was graded: "
                "every notebook would have been failed by the grader's setup.",
                hint=" ".join(hints) or f"Run `gpukit-data fetch {name}`.")
        say(f"dataset {name} verified in {loaded.data_dir / name}")
