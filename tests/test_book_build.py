"""The book builds with zero warnings: ``jupyter-book build . --all -W -n --keep-going``.

``--all`` rebuilds every page: an incremental build skips unchanged pages and
with them their warnings.

``-W`` turns every Sphinx warning into an error and ``-n`` adds the nitpicky
check of every cross-reference, so a broken equation label, a missing
citation or a stale glue name fails here.
"""

import subprocess
import sys
from pathlib import Path

from tools.nbtools import REPO, toc_files


def test_book_builds_without_warnings():
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jupyter_book), "build", str(REPO), "--all", "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    assert "WARNING" not in log, log[-6000:]
    for page in toc_files():
        html = REPO / "_build" / "html" / page.relative_to(REPO).with_suffix(".html")
        assert html.is_file(), f"no HTML page for {page.name}"
