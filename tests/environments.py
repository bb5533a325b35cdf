"""Fresh virtual environments that see only some of the kit's installed packages, as a
student's laptop or a bare GPU machine would: built from symbolic links to the packages that
importing the given modules loads, so no download is needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path


def closure_of(modules: list[str]) -> list[Path]:
    """The site-packages entries (packages, their metadata and bundled libraries) that importing
    ``modules`` loads in the kit's environment, so a fresh environment can link to them."""
    script = f"""
import importlib.metadata, json, os, site, sys
for name in {modules!r}:
    __import__(name)
roots = [os.path.realpath(p) for p in site.getsitepackages()]
tops = set()
for module in list(sys.modules.values()):
    places = [getattr(module, "__file__", None)]
    try:  # a package's folders; some of torch's lazy modules answer with other objects
        places += [p for p in getattr(module, "__path__", None) or [] if isinstance(p, str)]
    except TypeError:
        pass
    for place in filter(None, places):
        real = os.path.realpath(place)
        for root in roots:
            if real.startswith(root + os.sep):
                tops.add((root, os.path.relpath(real, root).split(os.sep)[0]))
names = {{top.removesuffix(".py").split(".")[0] for _, top in tops}}
dists = importlib.metadata.packages_distributions()
entries = set(tops)
for dist in {{d for name in names for d in dists.get(name, [])}}:
    path = importlib.metadata.distribution(dist)._path
    entries.add((os.path.dirname(os.path.realpath(path)), os.path.basename(path)))
for root in roots:
    entries |= {{(root, e) for e in os.listdir(root) if e.endswith(".libs")}}
print(json.dumps(sorted(os.path.join(r, e) for r, e in entries)))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    paths = [Path(p) for p in json.loads(done.stdout.splitlines()[-1])]
    return [p for p in paths if not p.name.startswith(("_", "__editable__"))]


def fresh_environment(where: Path, linked: list[str], *, absent: tuple[str, ...] = (),
                      with_pip: bool = True) -> Path:
    """A new virtual environment that sees only ``linked`` (and what they import) of the kit's
    packages, through a folder of symbolic links, and none of ``absent``; returns its python."""
    venv.EnvBuilder(with_pip=with_pip).create(where)
    python = where / "bin" / "python"
    shelf = where / "linked"
    shelf.mkdir()
    for path in closure_of(linked):
        (shelf / path.name).symlink_to(path)
    present = {p.name.split("-")[0].split(".")[0].lower() for p in shelf.iterdir()}
    assert not present & set(absent), present & set(absent)
    site_packages = Path(subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    (site_packages / "linked.pth").write_text(f"{shelf}\n")
    return python
