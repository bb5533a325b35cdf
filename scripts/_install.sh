# Sourced by scripts/demo and scripts/test: make .venv and install gpukit with its pinned
# dependencies into it, once per version of pyproject.toml.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "gpukit needs Python 3.11 or newer; '$PYTHON' is $("$PYTHON" --version 2>&1)." >&2
    echo "Set PYTHON=/path/to/python3.11 and run again." >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "==> creating the virtual environment .venv"
    "$PYTHON" -m venv .venv
fi
stamp=".venv/.gpukit-installed"
wanted="$(cat pyproject.toml student/pyproject.toml | sha256sum | cut -d' ' -f1) ${GPUKIT_EXTRAS:-}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    echo "==> installing gpukit and its pinned dependencies into .venv"
    echo "    (first time: about 3 minutes and 6 GB: PyTorch, TensorFlow, nbgrader)"
    # The student runtime (student/) first: the kit depends on it, and it is not on an index.
    .venv/bin/python -m pip install --quiet --disable-pip-version-check \
        -e ./student -e ".${GPUKIT_EXTRAS:+[$GPUKIT_EXTRAS]}"
    echo "$wanted" > "$stamp"
fi
# The class report's browser test (tests/test_reports.py) opens the page in Debian's Chromium,
# driven by Playwright (never Playwright's own browser download).
if [[ ",${GPUKIT_EXTRAS:-}," == *",test,"* ]] && ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "==> installing Chromium (Debian's package) for the report's browser test"
        # A failed install must not stop the suite: the browser test then says what is missing.
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq chromium; } >/dev/null 2>&1 \
            || echo "note: installing Chromium failed; the report's browser test will say so."
    else
        echo "note: Chromium is not installed: the report's browser test will be skipped" \
             "(install Debian's chromium package)."
    fi
fi
