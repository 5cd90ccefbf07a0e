"""A reader's "Run all" works from nothing, as in a fresh Colab runtime.

A clean virtual environment holding only what Colab preinstalls that
matters here (``tests/colab_requirements.txt``), no dropoutlib; every
notebook runs top to bottom in it, starting with its setup cell, which
installs dropoutlib from a local clone of this repository
(``DROPOUTLIB_SOURCE``) when it is missing, as in one Colab session. Stored outputs are not compared: nbval does that.

Everything is installed from ``.venv/wheelhouse``, filled by
``tools/setup_env.sh``, so the test needs no network. It clones HEAD:
uncommitted changes are not part of what a reader would install.

The runtime (a session fixture in ``tests/conftest.py``, one per pytest
worker) starts without dropoutlib; the first notebook's setup cell installs
it and later ones find it, as in one Colab session. All setup cells are the
same cell: ``test_notebooks_stored`` checks each against the one generated
from ``_config.yml``. The notebooks are split over
``test_colab_readiness_[a-d].py`` so the workers share the load.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tools import nbtools

REPO = nbtools.REPO
WHEELHOUSE = REPO / ".venv" / "wheelhouse"
needs_wheelhouse = pytest.mark.skipif(not WHEELHOUSE.is_dir(), reason="no .venv/wheelhouse: run tools/test.sh, which fills it")


def run_all(colab: dict, stem: str, monkeypatch) -> None:
    """Execute ``chapters/<stem>.ipynb`` from the clone, setup cell first; fail on any cell error."""
    notebook = REPO / "chapters" / f"{stem}.ipynb"
    assert notebook in nbtools.toc_notebooks(), f"{stem} is not a notebook of the book"
    python = str(colab["python"])
    monkeypatch.setenv("JUPYTER_PATH", str(colab["root"] / "share" / "jupyter"))
    monkeypatch.setenv("DROPOUTLIB_SOURCE", str(colab["clone"]))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(WHEELHOUSE))
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    nb = nbformat.read(colab["clone"] / "chapters" / f"{stem}.ipynb", as_version=4)
    assert nbtools.is_setup_cell(nb.cells[0]), "the notebook does not open with the setup cell"
    client = NotebookClient(nb, timeout=600, kernel_name="colab-sim",
                            resources={"metadata": {"path": str(colab["clone"] / "chapters")}})
    client.execute()  # raises CellExecutionError, with the traceback, if any cell fails
    installed = subprocess.run([python, "-m", "pip", "show", "dropoutlib"], capture_output=True, text=True)
    assert installed.returncode == 0 and "Location:" in installed.stdout, "the setup cell did not install dropoutlib"


def test_every_book_notebook_is_covered():
    """The split test files together cover exactly the notebooks in _toc.yml."""
    covered = set()
    for path in Path(__file__).parent.glob("test_colab_readiness_*.py"):
        covered |= set(__import__("re").findall(r'"(\d\d_[a-z_]+)"', path.read_text()))
    assert covered == {p.stem for p in nbtools.toc_notebooks()}
