"""The calibration of `gpukit similarity`: each lab's planted-copy table, and the scores of the
honest pairs, at the course's threshold and across thresholds.

For every lab of the course: its sample class with copies planted in it
(gpukit/similarity/calibration.py, the lab's fixtures/similarity.py), compared as the course is
configured; printed are the table (found / missed against expected, with the scores), the scores
of the pairs not listed, the lowest score of a copy that must be found and the highest of any
other pair, and how many planted copies and other pairs each threshold from 0.1 to 1.0 would
list. For contrast, the honest class compared as raw text (no boilerplate, no common ground).

Run: ``.venv/bin/python bench/similarity_calibration.py`` (about 10 s).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpukit.config import load_config
from gpukit.similarity.calibration import calibrate, class_works, honest_class
from gpukit.similarity.pairs import KINDS, Settings, find_similar

REPO = Path(__file__).resolve().parents[1]
THRESHOLDS = [round(0.1 * i, 1) for i in range(1, 11)]


def main() -> None:
    loaded = load_config(REPO / "grading_config.py")
    course = loaded.course
    settings = Settings(course.similarity_threshold, course.similarity_common_share)
    print(f"threshold {settings.threshold:g}, common ground: {settings.common_share:g} of a "
          "class (5 submissions at least)")
    for lab in course.assignments:
        calibrated = calibrate(REPO, lab, settings)
        findings = calibrated.findings
        print(f"\n== {lab.name}: {len(findings.students)} submissions, "
              f"{findings.total_pairs} pairs")
        print("| planted copy | copied from | expected | listed | code | written | |")
        print("|---|---|---|---|---|---|---|")
        for row in calibrated.rows:
            print(f"| {row.name} | {row.source} | {' + '.join(row.expected) or 'missed'} | "
                  f"{' + '.join(row.listed) or 'missed'} | {row.scores['code']:.2f} | "
                  f"{row.scores['written']:.2f} | {'ok' if row.as_expected else 'NOT AS EXPECTED'}"
                  " |")
        must = [row.scores[kind] for row in calibrated.rows for kind in row.expected]
        for kind in KINDS:
            scores = findings.unrelated(kind)
            print(f"unrelated pairs, {kind}: {len(scores)}, score 0: {np.sum(scores == 0)}, "
                  f"highest {scores.max():.2f}")
        print(f"lowest score of a copy to find: {min(must):.2f}; pairs listed that the table "
              f"does not expect: {len(calibrated.unexpected)}")
        sweep = []
        for threshold in THRESHOLDS:
            found = sum(all(row.scores[k] >= threshold for k in row.expected) and row.expected
                        != () for row in calibrated.rows)
            other = sum(np.sum(findings.unrelated(k) >= threshold) for k in KINDS)
            sweep.append(f"{threshold:g}: {found}/{sum(bool(r.expected) for r in calibrated.rows)}"
                         f" found, {other} other")
        print("by threshold: " + "; ".join(sweep))
        works, given = class_works(REPO, lab, honest_class(REPO, lab))
        empty = np.array([], dtype=np.int64)
        raw = find_similar(lab.name, works, given, Settings(settings.threshold, 1.0),
                           boilerplate={"code": empty, "written": empty})
        print(f"honest class as raw text (no boilerplate, no common ground): "
              f"{len(raw.pairs)} of {raw.total_pairs} pairs listed, median code score "
              f"{np.median(raw.scores['code']):.2f}")


if __name__ == "__main__":
    main()
