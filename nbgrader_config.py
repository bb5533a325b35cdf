# nbgrader reads this file. Do not edit it: every setting is derived from grading_config.py
# (see gpukit/pipeline/nbgrader_settings.py).
from gpukit.pipeline.nbgrader_settings import configure

configure(get_config(), __file__)  # noqa: F821  (nbgrader defines get_config)
