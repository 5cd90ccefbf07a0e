"""A reader's "Run all" works from nothing, as in a fresh Colab runtime.

A clean virtual environment holding only what Colab preinstalls that
matters here (``tests/colab_requirements.txt``), no dropoutlib; every
notebook runs top to bottom in it, starting with its setup cell, which
installs dropoutlib from a local clone of this repository
(``DROPOUTLIB_SOURCE``) when it is missing, as in one Colab session. Stored outputs are not compared: nbval does that.

Everything is installed from ``.venv/wheelhouse``, filled by
``tools/setup_env.sh``, so the test needs no network. It clones HEAD:
uncommitted changes are not part of what a reader would install.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tools import nbtools

REPO = nbtools.REPO
WHEELHOUSE = REPO / ".venv" / "wheelhouse"
NOTEBOOKS = nbtools.toc_notebooks()

pytestmark = pytest.mark.skipif(not WHEELHOUSE.is_dir(), reason="no .venv/wheelhouse: run tools/test.sh, which fills it")


def _run(*cmd: str, **kwargs) -> None:
    result = subprocess.run(list(cmd), capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(cmd)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


@pytest.fixture(scope="module")
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


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_run_all_works_from_nothing(colab, notebook, monkeypatch):
    python = str(colab["python"])
    # The runtime starts without dropoutlib (see the fixture); the first
    # notebook's setup cell installs it, and later ones find it, as in one
    # Colab session. All setup cells are the same cell: test_notebooks_stored
    # checks each against the one generated from _config.yml.
    monkeypatch.setenv("JUPYTER_PATH", str(colab["root"] / "share" / "jupyter"))
    monkeypatch.setenv("DROPOUTLIB_SOURCE", str(colab["clone"]))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(WHEELHOUSE))
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    nb = nbformat.read(colab["clone"] / notebook.relative_to(REPO), as_version=4)
    assert nbtools.is_setup_cell(nb.cells[0]), "the notebook does not open with the setup cell"
    client = NotebookClient(nb, timeout=600, kernel_name="colab-sim",
                            resources={"metadata": {"path": str(colab["clone"] / "chapters")}})
    client.execute()  # raises CellExecutionError, with the traceback, if any cell fails

    installed = subprocess.run([python, "-m", "pip", "show", "dropoutlib"], capture_output=True, text=True)
    assert installed.returncode == 0 and "Location:" in installed.stdout, "the setup cell did not install dropoutlib"
