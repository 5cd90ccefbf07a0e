"""A simulated fresh Colab runtime, in which the regression test executes the notebooks.

One execution of each notebook serves two checks at once:

* "Run all" works from nothing: the runtime is a clean virtual environment
  holding only what a fresh Colab brings that matters here
  (``tests/colab_requirements.txt``), and no dropoutlib. Each notebook's
  setup cell installs dropoutlib with its extras, as a reader's would, from a
  copy of this checkout (``DROPOUTLIB_SOURCE``), so uncommitted changes are
  what is tested;
* strict nbval compares every output with the stored one.

Everything is installed offline from ``.venv/wheelhouse``, filled by
``tools/setup_env.sh``. Each pytest worker builds its own runtime under
``_build/colab/<worker>``; the first notebook a worker runs installs
dropoutlib, later ones find it, as in one Colab session. matplotlib's cache
lives inside the runtime, so nothing is written outside the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tools.nbtools import NOTEBOOK_ENV, REPO

WHEELHOUSE = REPO / ".venv" / "wheelhouse"
REQUIREMENTS = REPO / "tests" / "colab_requirements.txt"
KERNEL_NAME = "colab-sim"
# What the package build needs: pyproject.toml names README.md as the readme.
PACKAGE_FILES = ("pyproject.toml", "README.md", "dropoutlib")


def root_for(worker: str) -> Path:
    return REPO / "_build" / "colab" / worker


def jupyter_path(root: Path) -> Path:
    return root / "share" / "jupyter"


def _run(*cmd: str, **kwargs) -> None:
    result = subprocess.run(list(cmd), capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def kernel_env(root: Path) -> dict[str, str]:
    """The kernel's environment: the notebooks' fixed one, pip offline, caches inside ``root``."""
    return {
        **NOTEBOOK_ENV,
        "DROPOUTLIB_SOURCE": str(root / "source"),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(WHEELHOUSE),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_ROOT_USER_ACTION": "ignore",
        "PIP_CACHE_DIR": str(root / "pip-cache"),
        "MPLCONFIGDIR": str(root / "matplotlib"),
    }


_FRESH: set[Path] = set()  # runtimes made fresh in this process (this test session)


def _copy_source(root: Path) -> None:
    source = root / "source"
    if source.exists():
        shutil.rmtree(source)
    source.mkdir()
    for name in PACKAGE_FILES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)


def ensure(root: Path) -> Path:
    """Build the runtime in ``root`` (once per pytest worker) and return its Python.

    A runtime left by an earlier session is reused for its packages, but it
    gets a fresh copy of the checkout and loses the dropoutlib the last session
    installed: otherwise the setup cell would find that stale copy and the
    notebooks would run against yesterday's library.
    """
    python = root / "venv" / "bin" / "python"
    ready = root / "ready"
    if ready.exists():
        if root not in _FRESH:
            _copy_source(root)
            env = {**os.environ, **kernel_env(root)}
            _run(str(python), "-m", "pip", "uninstall", "--quiet", "--yes", "dropoutlib", env=env)
            probe = subprocess.run([str(python), "-c", "import dropoutlib"], capture_output=True, cwd=root, env=env)
            if probe.returncode == 0:
                raise RuntimeError("could not remove the last session's dropoutlib from the runtime")
            _FRESH.add(root)
        return python
    if not WHEELHOUSE.is_dir():
        raise FileNotFoundError(f"no wheelhouse at {WHEELHOUSE}: run tools/test.sh, which fills it")
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    _copy_source(root)
    _run(sys.executable, "-m", "venv", str(root / "venv"))
    env = {**os.environ, **kernel_env(root)}
    _run(str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS), env=env)
    probe = subprocess.run([str(python), "-c", "import dropoutlib"], capture_output=True, cwd=root, env=env)
    if probe.returncode == 0:
        raise RuntimeError("the clean runtime already has dropoutlib; it would not test the setup cell")
    # Build matplotlib's font cache now: its first import says so on stderr,
    # which the regression test would rightly count as a new warning.
    _run(str(python), "-c", "import matplotlib.pyplot", env=env)
    kernel_dir = jupyter_path(root) / "kernels" / KERNEL_NAME
    kernel_dir.mkdir(parents=True)
    spec = {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab simulation",
        "language": "python",
        "env": kernel_env(root),
    }
    (kernel_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    ready.touch()
    _FRESH.add(root)
    return python
