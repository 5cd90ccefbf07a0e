"""Repository-wide pytest setup: the notebook environment, and nbval's stderr rule.

The environment is fixed here, before JAX is imported and before nbval starts
any kernel, so the notebooks run exactly as ``tools/refresh_notebooks.py``
ran them when their outputs were stored.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tools.nbtools import NOTEBOOK_ENV  # noqa: E402

os.environ.update(NOTEBOOK_ENV)

import nbval.plugin  # noqa: E402

_compare_streams = nbval.plugin.transform_streams_for_comparison


def _streams_without_stderr(outputs):
    """nbval compares every stream; stderr carries warnings and progress bars,
    which are not results, and the refresh does not store it. Drop it on both sides."""
    return [
        output
        for output in _compare_streams(outputs)
        if not (output.get("output_type") == "stream" and "stderr" in output)
    ]


nbval.plugin.transform_streams_for_comparison = _streams_without_stderr

