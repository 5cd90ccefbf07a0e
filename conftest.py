"""Repository-wide pytest setup: where and how nbval runs the notebooks.

The environment is fixed here, before JAX is imported and before nbval starts
any kernel, so the notebooks run exactly as ``tools/refresh_notebooks.py``
ran them when their outputs were stored. By default nbval executes them in a
simulated fresh Colab runtime (``tools/colab_runtime.py``), so that one
execution proves both that "Run all" works from nothing and that every
output is the stored one; ``--notebooks-in=here`` runs them in the current
environment instead, which is quicker while editing.
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tools import colab_runtime  # noqa: E402
from tools.nbtools import NOTEBOOK_ENV, without_progress_bars  # noqa: E402

os.environ.update(NOTEBOOK_ENV)

import nbval.plugin  # noqa: E402

_compare_streams = nbval.plugin.transform_streams_for_comparison


def _streams_without_progress_bars(outputs):
    """nbval compares every stream. Progress bars on stderr are timing noise;
    drop them on both sides and compare the rest of stderr, so that a new
    warning in a cell fails that cell's test."""
    compared = []
    for output in _compare_streams(outputs):
        if output.get("output_type") == "stream" and "stderr" in output:
            text = without_progress_bars(output["stderr"])
            if not text:
                continue
            output = {**output, "stderr": text}
        compared.append(output)
    return compared


nbval.plugin.transform_streams_for_comparison = _streams_without_progress_bars


_COLAB_ROOT = pytest.StashKey[Path]()


def pytest_addoption(parser):
    parser.addoption(
        "--notebooks-in",
        choices=("colab", "here"),
        default="colab",
        help="run the notebooks in a simulated fresh Colab runtime (default) or in this environment",
    )


def pytest_configure(config):
    if config.getoption("notebooks_in") == "here":
        config.option.nbval_current_env = True
        return
    root = colab_runtime.root_for(os.environ.get("PYTEST_XDIST_WORKER", "main"))
    config.option.nbval_current_env = False
    config.option.nbval_kernel_name = colab_runtime.KERNEL_NAME
    os.environ["JUPYTER_PATH"] = str(colab_runtime.jupyter_path(root))
    config.stash[_COLAB_ROOT] = root



@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Build the Colab runtime before the first notebook's kernel starts (not at all without notebooks)."""
    root = item.config.stash.get(_COLAB_ROOT, None)
    if root is not None and isinstance(item, nbval.plugin.IPyNbCell):
        colab_runtime.ensure(root)


# The longest files, measured (user CPU of a suite run on 2 cores), go first:
# xdist hands whole files to its two workers in collection order, so the long
# notebooks start at once and the short unit-test files fill in at the end.
LONGEST_FIRST = (
    "chapters/07_in_practice.ipynb",
    "chapters/06_regularizers.ipynb",
    "chapters/05_learning_rate.ipynb",
    "chapters/04_direct_vs_inverted.ipynb",
    "chapters/01_overfitting.ipynb",
    "tests/test_book_build.py",
)


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        path = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: a notebook's cells keep their order
