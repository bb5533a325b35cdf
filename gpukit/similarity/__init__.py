"""Similar submissions, for the instructor to look at: `gpukit similarity` and the class report.

Every grade is about one notebook; this package compares the notebooks of a class with each
other and lists the pairs whose student-written code or written answers are similar beyond
``Course.similarity_threshold``. It never changes a grade. One module per step:

* :mod:`~gpukit.similarity.extract`: what a student wrote, per answer cell (found by nbgrader's
  cell id or gpukit's marker line, as grading finds it), and what the release gave them (the
  boilerplate: given code, answer stubs, instructions);
* :mod:`~gpukit.similarity.code`: code fingerprints with copydetect's tokenizer (identifiers,
  strings, comments and whitespace normalised) and its winnowing (the MOSS method), the
  release's fingerprints removed;
* :mod:`~gpukit.similarity.text`: written answers as word n-grams over stemmed words with a small
  synonym map, winnowed the same way;
* :mod:`~gpukit.similarity.index`: the inverted fingerprint index (fingerprint -> submissions),
  which finds the pairs worth comparing and the common ground of the class (what many students
  share is the template or the tutorial everyone follows, not evidence);
* :mod:`~gpukit.similarity.pairs`: the scores of the candidate pairs and the matching passages;
* :mod:`~gpukit.similarity.course`: a graded class's submissions, read from the course;
* :mod:`~gpukit.similarity.page` and :mod:`~gpukit.similarity.export`: the report section (and
  its own page) and the CSV file;
* :mod:`~gpukit.similarity.calibration`: the labs' sample classes with planted copies, on which
  the threshold was chosen (tests/test_similarity.py, bench/similarity_speed.py).
"""
