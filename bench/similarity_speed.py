"""Speed of `gpukit similarity` at course size: 300 submissions of one lab (44,850 pairs).

The class is built from the lab's honest sample class (gpukit/similarity/calibration.py), one
synthetic student at a time, with the variation real students bring:

* each answer cell is taken from a random member of the sample class (the reference, a
  tutorial-style rewrite, a fixture's mistake), so cells mix across students;
* every student renames their variables (their own names: no effect on the fingerprints, as for
  real students) and writes lines of their own into each code cell (prints, checks, helpers,
  drawn at random), after about every other line of the cell they started from: the same idioms,
  each student's code around them;
* each written answer is two sentences drawn from the sample class's answers to that question
  and one of the student's own;
* a few copies are planted: whole notebooks renamed, reordered and recommented, and students who
  take over another's written answer.

The notebooks are written into a course's submitted/ folder, as `gpukit grade` leaves them, and
timed is what `gpukit similarity` does: read every notebook, extract, fingerprint, index, compare
the candidate pairs, write the page and the CSV. Printed: the time of each step and in all, the
pairs compared, the planted copies found, the other pairs listed, and the scores of the pairs
not listed. It runs twice: as a course is configured by default, and with the sample class
declared as the course's tutorials (similarity_boilerplate): the generator copies each sample
notebook's cells into about one student in 25, fewer than the 5 % that make common ground, which
looks like a ring of students copying one unusual cell, or following a tutorial the course did
not declare.

Run: ``.venv/bin/python bench/similarity_speed.py [--lab core_mnist] [--students 300]``
(about a minute on 2 cores, building the class included).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import nbformat
import numpy as np

from gpukit.config import Course, load_config, python_source
from gpukit.course.layout import CourseLayout
from gpukit.similarity.calibration import (
    answer,
    honest_class,
    recomment,
    rename,
    reorder_functions,
)
from gpukit.similarity.course import (
    read_works,
    release_of,
    settings_of,
    submitted_notebooks,
    tutorials_of,
)
from gpukit.similarity.export import pairs_csv
from gpukit.similarity.extract import given_material, written_text
from gpukit.similarity.page import render_page
from gpukit.similarity.pairs import KINDS, find_similar

REPO = Path(__file__).resolve().parents[1]
PLANTED = 6  # copies planted among the class (each a pair to find)
NAMES = ["value", "result", "tmp", "data", "item", "count", "total", "scale", "limit", "step",
         "width", "ratio", "extra", "probe", "check", "note", "level", "score", "delta", "size"]
OWN_LINES = [
    'print(f"{a}: {{{b}}}")',
    "assert {a} is not None, \"{a} is missing\"",
    "{a} = {n} * {m} + {k}",
    "{a} = [{b} for {b} in range({n}) if {b} % {m} == {k}]",
    "if {a} > {n}:\n    print(\"{a} is large:\", {a})",
    "def {a}_{b}({b}, {c}={n}):\n    return {b} * {c} - {k}",
    "{a} = {{\"{b}\": {n}, \"{c}\": {m}}}",
    "for {a} in range({k}, {n}):\n    {b} = {a} ** {m}",
    "{a} = sum({b} * {m} for {b} in range({n}))",
    "print(\"{a}\", {n}, {m}, {k}, sep=\"|\")",
]
SENTENCE = re.compile(r"(?<=[.!?])\s+")


def own_lines(rng: random.Random, count: int, single: bool = False) -> str:
    templates = [line for line in OWN_LINES if "\n" not in line] if single else OWN_LINES
    lines = []
    for _ in range(count):
        a, b, c = rng.sample(NAMES, 3)
        lines.append(rng.choice(templates).format(a=a, b=b, c=c, n=rng.randint(2, 999),
                                                   m=rng.randint(2, 99), k=rng.randint(0, 9)))
    return "\n".join(lines)


VOCABULARY = """gpu cpu batch epoch memory kernel tensor layer weight gradient loss step
optimizer device cache throughput latency precision model activation matrix core bandwidth
transfer copy clock warm sync queue thread process launch overhead speed accuracy dropout norm
softmax logits label image pixel scale input output hidden relu linear conv pool stride filter
channel float half bfloat scaler autocast timing sample dataset loader shuffle seed parameter
buffer module graph autograd inference training evaluation update learning rate momentum adam
sgd error noise variance mean bias result figure plot curve table run trial measure""".split()


def interleaved(source: str, rng: random.Random) -> str:
    """``source`` with a line of the student's own after about every other complete line."""
    out, depth = [], 0
    for line in source.splitlines():
        out.append(line)
        depth += sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")
        stripped = line.strip()
        if (depth == 0 and stripped and not stripped.endswith((":", ",", "\\"))
                and not stripped.startswith(("#", "@", "return", '"""', "raise", "yield"))
                and '"""' not in stripped and rng.random() < 0.5):
            indent = line[:len(line) - len(line.lstrip())]
            out.append(indent + own_lines(rng, 1, single=True))
    return "\n".join(out)


def own_answer(rng: random.Random) -> str:
    return "In my own run " + " ".join(rng.sample(VOCABULARY, rng.randint(14, 20))) + "."


def build_class(lab, students: int, seed: int) -> tuple[dict, list[tuple[str, str]]]:
    """``students`` synthetic notebooks of ``lab`` and the planted (copy, source) pairs."""
    rng = random.Random(seed)
    honest = honest_class(REPO, lab)
    honest.pop("untouched-release", None)
    members = sorted(honest)
    release = release_of(load_config(REPO / "grading_config.py"), lab)
    given = given_material(release)
    sentences = {q: [] for q in given.written_cells}
    for nb in honest.values():
        for cell in nb.cells:
            if cell.get("id") in sentences:
                text = written_text(cell.source)
                sentences[cell.get("id")] += [s for s in SENTENCE.split(text) if len(s) > 30]
    def student() -> nbformat.NotebookNode:
        nb = copy_of(honest[rng.choice(members)])
        for cell in nb.cells:
            if cell.get("id") in given.code_cells:
                donor = honest[rng.choice(members)]
                cell.source = next(c.source for c in donor.cells if c.get("id") == cell.get("id"))
                cell.source = interleaved(cell.source, rng) + "\n" + own_lines(rng, 2)
        for question, pool in sentences.items():
            text = " ".join(rng.sample(pool, min(2, len(pool)))) + " " + own_answer(rng)
            nb = answer(question, text)(nb, {})
        mapping = dict(zip(rng.sample(NAMES, 5), rng.sample([f"my_{n}" for n in NAMES], 5),
                           strict=True))
        return rename(mapping)(nb, {})

    notebooks = {f"student-{number:03d}": student() for number in range(students - PLANTED)}
    planted = []
    for number, source in enumerate(rng.sample(sorted(notebooks), PLANTED)):
        nb = notebooks[source]
        if number % 2 == 0:  # the whole notebook: renamed, reordered, recommented
            nb = rename({"my_value": "v", "my_result": "r", "model": "net"})(nb, {})
            nb = recomment()(reorder_functions()(nb, {}), {})
        else:  # a student of their own who takes over one written answer
            question = given.written_cells[number % len(given.written_cells)]
            text = written_text(next(c.source for c in nb.cells if c.get("id") == question))
            nb = answer(question, text)(student(), {})
        notebooks[f"copier-{number}"] = nb
        planted.append((f"copier-{number}", source))
    return notebooks, planted


def copy_of(nb):
    return nbformat.from_dict(nbformat.reads(nbformat.writes(nb), as_version=4))


def timed_run(root: Path, lab, planted: list[tuple[str, str]], title: str) -> float:
    """What `gpukit similarity` does, step by step, timed; the findings printed."""
    loaded = load_config(root / "grading_config.py")
    times = {}
    t0 = time.perf_counter()
    handed = submitted_notebooks(loaded, lab)
    release = release_of(loaded, lab)
    given = given_material(release, tutorials_of(loaded))
    works, problems = read_works(handed, release, given)
    times["read and extract"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    findings = find_similar(lab.name, works, given, settings_of(loaded))
    times["fingerprint, index, compare"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    (root / "similarity.html").write_text(render_page(findings, "bench"), encoding="utf-8")
    (root / "similarity.csv").write_text(pairs_csv(findings), encoding="utf-8")
    times["page and CSV"] = time.perf_counter() - t2
    total = time.perf_counter() - t0

    print(f"\n== {title}")
    for step, seconds in times.items():
        print(f"  {step:30} {seconds:6.1f} s")
    print(f"  {'total (gpukit similarity)':30} {total:6.1f} s   (target <= 60 s)")
    print(f"compared in detail: {findings.compared['code']:,} pairs for code, "
          f"{findings.compared['written']:,} for written answers; common ground: "
          f"{findings.common['code']} code and {findings.common['written']} written "
          f"fingerprints held by {findings.common_limit} submissions or more")
    listed = {frozenset((p.a, p.b)): p for p in findings.pairs}
    for copier, source in planted:
        pair = listed.get(frozenset((copier, source)))
        scores = ", ".join(f"{k} {pair.score(k):.2f}" for k in pair.matches) if pair else "-"
        print(f"  planted {copier} ~ {source}: {'found' if pair else 'MISSED'} ({scores})")
    others = [p for key, p in listed.items() if key not in {frozenset(x) for x in planted}]
    cells = Counter(cell for p in others for m in p.matches.values() for cell in m.cells)
    print(f"other pairs listed: {len(others)}" + (f", cells involved: {dict(cells)}"
                                                  if others else ""))
    for kind in KINDS:
        scores = findings.unrelated(kind)
        p50, p95, p99 = np.percentile(scores, [50, 95, 99])
        print(f"unrelated pairs, {kind}: {len(scores):,}, score 0: {np.sum(scores == 0):,}, "
              f"median {p50:.2f}, 95th {p95:.2f}, 99th {p99:.2f}, highest {scores.max():.2f}")
    if problems:
        print(f"not read: {problems}")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="core_mnist")
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--seed", type=int, default=27)
    args = parser.parse_args()
    lab = load_config(REPO / "grading_config.py").course.assignment(args.lab)

    started = time.perf_counter()
    notebooks, planted = build_class(lab, args.students, args.seed)
    root = Path(tempfile.mkdtemp(prefix="similarity-bench-")) / "course"
    root.mkdir()
    layout = CourseLayout(root)
    layout.release(lab).parent.mkdir(parents=True)
    shutil.copy(CourseLayout(REPO).release(lab), layout.release(lab))
    for student, nb in notebooks.items():
        path = layout.submitted(student, lab)
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))
    tutorials = []
    for student, nb in honest_class(REPO, lab).items():  # the sample class, as tutorials
        tutorials.append(f"tutorials/{student}.ipynb")
        (root / "tutorials").mkdir(exist_ok=True)
        nbformat.write(nb, str(root / tutorials[-1]))
    built = time.perf_counter() - started
    size = sum(layout.submitted(s, lab).stat().st_size for s in notebooks) / 2 ** 20
    print(f"lab {lab.name}: {len(notebooks)} submissions ({size:.1f} MB of notebooks), "
          f"{len(notebooks) * (len(notebooks) - 1) // 2:,} pairs; class built in {built:.1f} s; "
          f"load average {os.getloadavg()[0]:.2f}, nice {os.nice(0)}")

    for title, boilerplate in (("as the course is configured by default", []),
                               ("with the sample class declared as the course's tutorials "
                                "(similarity_boilerplate)", tutorials)):
        (root / "grading_config.py").write_text(python_source(Course(
            course_id="bench", assignments=[type(lab)(name=lab.name)],
            similarity_boilerplate=boilerplate)))
        timed_run(root, lab, planted, title)
    shutil.rmtree(root.parent)


if __name__ == "__main__":
    main()
