"""What the refresh command and the tests agree on about notebooks.

Which notebooks the book has (those in ``_toc.yml``), the environment they
run in, the setup cell every notebook opens with, and the normalized form in
which they are stored. Keeping it in one module means the checks in
``tests/test_notebooks_stored.py`` test exactly what the refresh writes.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Iterator

import nbformat
import yaml

REPO = Path(__file__).resolve().parent.parent

# Set before any kernel starts (refresh and pytest alike). XLA compiles for the
# host's instruction set, and the last bits of float results can differ between
# CPU generations; capping it at AVX2 makes the stored outputs reproducible on
# more machines. JAX_PLATFORMS=cpu keeps a GPU, where present, out of it.
NOTEBOOK_ENV = {
    "XLA_FLAGS": "--xla_cpu_max_isa=AVX2",
    "JAX_PLATFORMS": "cpu",
    "PYTHONHASHSEED": "0",
}

# The setup cell is hidden in the book but RUN by the regression test: in the
# simulated Colab runtime it is what installs dropoutlib.
SETUP_TAGS = ["remove-cell"]

# A tqdm progress bar as it reaches stderr: carriage-return-separated frames
# like "training:  40%|####      | 400/1000 [00:02<00:03, 190.1step/s]".
PROGRESS_FRAME = re.compile(r"^[^\r\n]*\d+%\|[^\r\n]*\|[^\r\n]*$")


def without_progress_bars(text: str) -> str:
    """``text`` of a stderr stream with every progress-bar frame removed.

    Only progress bars are unstable noise; everything else on stderr (a
    warning, a NaN, a deprecation) is kept, so that it is stored, compared
    and seen.
    """
    kept = [frame for frame in re.split(r"[\r\n]", text) if frame.strip() and not PROGRESS_FRAME.match(frame)]
    return "\n".join(kept) + ("\n" if kept else "")

# Cell metadata that carries meaning: tags (nbval and the book read them) and
# myst-nb's figure captions. Everything else is editor or kernel noise.
KEPT_CELL_METADATA = ("tags", "mystnb")

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}


def _walk_toc(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("file", "root") and isinstance(value, str):
                yield value
            else:
                yield from _walk_toc(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_toc(item)


def toc_files() -> list[Path]:
    """Every page named in ``_toc.yml``, as existing paths (``.ipynb`` or ``.md``)."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    pages = []
    for name in _walk_toc(toc):
        for suffix in ("", ".ipynb", ".md"):
            path = REPO / (name + suffix)
            if path.is_file():
                pages.append(path)
                break
        else:
            raise FileNotFoundError(f"_toc.yml names {name!r}, which has no .ipynb or .md file")
    return pages


def toc_notebooks() -> list[Path]:
    return [path for path in toc_files() if path.suffix == ".ipynb"]


def repository() -> tuple[str, str]:
    """The repository URL and branch, from ``_config.yml`` (their only home)."""
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    return config["repository"]["url"], config["repository"].get("branch", "main")


def setup_cell_source() -> str:
    url, branch = repository()
    return (
        "# Setup for Colab or any fresh kernel: install dropoutlib when it is missing.\n"
        "# Written by tools/refresh_notebooks.py from _config.yml; change it there.\n"
        "import importlib, importlib.util, os, pathlib, subprocess, sys\n"
        "\n"
        'needed = ("dropoutlib", "optax", "sklearn", "tqdm", "matplotlib")\n'
        "if any(importlib.util.find_spec(name) is None for name in needed):\n"
        f'    repository = "git+{url}@{branch}"\n'
        '    source = os.environ.get("DROPOUTLIB_SOURCE", repository)\n'
        "    if os.path.isdir(source):  # a local clone\n"
        "        source = pathlib.Path(source).resolve().as_uri()\n"
        '    requirement = f"dropoutlib[experiments,book] @ {source}"\n'
        '    pip = [sys.executable, "-m", "pip", "install", "--quiet", requirement]\n'
        "    subprocess.run(pip, check=True)\n"
        "    importlib.invalidate_caches()"
    )


def is_setup_cell(cell: Any) -> bool:
    return cell.cell_type == "code" and cell.source.startswith("# Setup for Colab")


def with_setup_cell(nb: Any) -> Any:
    """Return a copy of ``nb`` whose first cell is the current setup cell."""
    nb = copy.deepcopy(nb)
    cells = [cell for cell in nb.cells if not is_setup_cell(cell)]
    setup = nbformat.v4.new_code_cell(setup_cell_source())
    setup.metadata = {"tags": list(SETUP_TAGS)}
    nb.cells = [setup] + cells
    return nb


def normalized(nb: Any) -> Any:
    """Return a copy of ``nb`` without machine paths, timings or kernel noise.

    Keeps: sources, cell tags and figure captions, outputs (stderr without its
    progress bars; see :func:`without_progress_bars`), execution counts, and
    output metadata (myst-nb's glue records live there). Cell ids become their
    position, so an unchanged notebook is stored byte-identically.
    """
    nb = copy.deepcopy(nb)
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)}
    nb.nbformat, nb.nbformat_minor = 4, 5
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index:03d}"
        cell.metadata = {key: cell.metadata[key] for key in KEPT_CELL_METADATA if cell.metadata.get(key)}
        if cell.cell_type != "code":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            continue
        outputs = []
        for output in cell.outputs:
            if output.output_type == "stream" and output.get("name") == "stderr":
                text = without_progress_bars(output.text)
                if not text:
                    continue
                output.text = text
            outputs.append(output)
        cell.outputs = outputs
    return nb


def stderr_of(nb: Any) -> list[tuple[int, str]]:
    """``(cell index, text)`` of every stderr output that is not a progress bar."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.get("name") == "stderr":
                text = without_progress_bars(output.text)
                if text:
                    found.append((index, text))
    return found


def read(path: Path) -> Any:
    return nbformat.read(path, as_version=4)


def write(nb: Any, path: Path) -> None:
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb) + "\n")
