"""Fixtures shared by test files: the simulated Colab runtime.

It lives here, at session scope, so that the Colab-readiness tests, split
over several files to spread them across pytest-xdist workers, build one
clean runtime per worker rather than one per file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tools import nbtools

REPO = nbtools.REPO
WHEELHOUSE = REPO / ".venv" / "wheelhouse"


def _run(*cmd: str, **kwargs) -> None:
    result = subprocess.run(list(cmd), capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(cmd)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


@pytest.fixture(scope="session")
def colab(worker_id) -> dict[str, Path]:
    """A clean runtime and a clone, one per pytest worker."""
    root = REPO / "_build" / "colab" / worker_id
    if root.exists():
        _run("rm", "-rf", str(root))
    root.mkdir(parents=True)
    clone = root / "repo"
    _run("git", "clone", "--quiet", str(REPO), str(clone))
    venv = root / "venv"
    _run(sys.executable, "-m", "venv", str(venv))
    python = venv / "bin" / "python"
    _run(str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(WHEELHOUSE),
         "-r", str(REPO / "tests" / "colab_requirements.txt"))
    probe = subprocess.run([str(python), "-c", "import dropoutlib"], capture_output=True, cwd=root)
    assert probe.returncode != 0, "the clean runtime already has dropoutlib"
    kernel_dir = root / "share" / "jupyter" / "kernels" / "colab-sim"
    kernel_dir.mkdir(parents=True)
    spec = {"argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Colab simulation", "language": "python"}
    (kernel_dir / "kernel.json").write_text(json.dumps(spec))
    return {"root": root, "clone": clone, "python": python}
