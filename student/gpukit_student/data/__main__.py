"""``python -m gpukit_student.data fetch|verify NAME`` (the same as ``gpukit-data``)."""

import sys

from gpukit_student.data.cli import main

sys.exit(main())
