"""Re-execute the book's notebooks in place, top to bottom, in fresh kernels.

    python tools/refresh_notebooks.py               # every notebook in _toc.yml
    python tools/refresh_notebooks.py chapters/03_binomial.ipynb

Each notebook gets the current setup cell (from _config.yml), runs in a fresh
kernel with the fixed environment of ``tools.nbtools.NOTEBOOK_ENV``, and is
stored normalized. A notebook that writes anything but a progress bar to
stderr (a warning, say) is not stored: the refresh stops and names the cell. Running it twice in a row leaves the files unchanged; that
is what makes the stored outputs a regression test.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nbclient import NotebookClient  # noqa: E402

from tools import nbtools  # noqa: E402


def refresh(path: Path) -> float:
    nb = nbtools.with_setup_cell(nbtools.read(path))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    start = time.perf_counter()
    client = NotebookClient(
        nb,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    elapsed = time.perf_counter() - start
    warnings = nbtools.stderr_of(nb)
    if warnings:
        where = "\n".join(f"  cell {index}: {text.strip()[:500]}" for index, text in warnings)
        raise SystemExit(f"{path.name} wrote to stderr (a warning?); fix it rather than store it:\n{where}")
    nbtools.write(nbtools.normalized(nb), path)
    return elapsed


def main(argv: list[str]) -> int:
    os.environ.update(nbtools.NOTEBOOK_ENV)
    paths = [Path(arg).resolve() for arg in argv] or nbtools.toc_notebooks()
    for path in paths:
        elapsed = refresh(path)
        print(f"refreshed {path.relative_to(nbtools.REPO)} in {elapsed:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
