"""Notebook formats: the text format templates render to, and its nbgrader conversion."""
