"""What in a graded class still needs the instructor, one line per submission and reason."""

from __future__ import annotations

from dataclasses import dataclass

from gpukit.reports.classbook import ClassResults

# Statuses where nothing (or nothing final) was scored: each needs a look or a regrade.
NOT_SCORED = ("environment", "error", "timeout", "invalid")
# What to do about each kind of item, shown once above its list.
ADVICE = {
    "integrity": "Held at zero for review. Read the findings and the notebook; lift the hold in "
                 "formgrader (restore the automatic scores) if the flag was wrong.",
    "environment": "The grading environment failed, not the student: fix it (see the message) "
                   "and run gpukit grade again (these are graded again without --regrade).",
    "error": "Grading could not finish (kernel died, memory or process limit). Look at the "
             "message; grade again once fixed, or grade by hand.",
    "timeout": "Stopped at a time limit. Raise the limit in grading_config.py and grade again "
               "if the notebook is legitimately slow.",
    "invalid": "Not a gradable notebook: nothing ran. Ask the student for the .ipynb file.",
    "gpu": "GPU-only checks scored zero under gpu_policy='require': grade these again on a "
           "machine with a GPU (gpukit grade --ray with a GPU node, or on the GPU machine).",
    "manual": "Written answers to grade by hand in formgrader (empty or short ones are marked).",
}


@dataclass(frozen=True)
class AttentionItem:
    kind: str       # a key of ADVICE
    student: str
    detail: str


def needs_attention(results: ClassResults) -> dict[str, list[AttentionItem]]:
    found: dict[str, list[AttentionItem]] = {kind: [] for kind in ADVICE}
    for student in results.students:
        if student.status == "integrity" or student.status in NOT_SCORED:
            found[student.status].append(AttentionItem(student.status, student.student,
                                                       student.message))
        record = student.record
        if record is not None and record.needs_gpu_regrade:
            found["gpu"].append(AttentionItem("gpu", student.student,
                                              ", ".join(record.needs_gpu_regrade)))
        waiting = [item.name for item in results.written
                   if item.name in student.scores and student.scores[item.name].needs_manual]
        if waiting:
            states = {w.question: w.state for w in record.written} if record else {}
            marked = [f"{name} ({states[name].replace('_', ' ')})"
                      if states.get(name, "complete") != "complete" else name
                      for name in waiting]
            found["manual"].append(AttentionItem("manual", student.student, ", ".join(marked)))
    return {kind: items for kind, items in found.items() if items}
