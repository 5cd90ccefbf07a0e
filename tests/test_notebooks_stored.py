"""The stored notebooks are what nbval needs them to be.

nbval compares a cell only when its stored ``execution_count`` is set, so a
notebook stored unexecuted would pass strict nbval while checking nothing.
These tests close that hole, and check that every notebook is in the book
and stored in the normalized form that the refresh command writes.
"""

import json

import pytest

from tools import nbtools

NOTEBOOKS = nbtools.toc_notebooks()
IDS = [path.name for path in NOTEBOOKS]


def test_the_book_has_notebooks():
    assert NOTEBOOKS, "_toc.yml lists no notebooks"


def test_every_chapter_notebook_is_in_the_toc():
    in_toc = {path.resolve() for path in NOTEBOOKS}
    missing = [p.name for p in sorted((nbtools.REPO / "chapters").glob("*.ipynb")) if p.resolve() not in in_toc]
    assert not missing, f"notebooks missing from _toc.yml: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_code_cell_was_executed_in_order(path):
    nb = nbtools.read(path)
    counts = [cell.execution_count for cell in nb.cells if cell.cell_type == "code"]
    assert counts, f"{path.name} has no code cells"
    assert None not in counts, f"{path.name} has code cells with no stored execution count: {counts}"
    assert counts == list(range(1, len(counts) + 1)), f"{path.name} was not run top to bottom: {counts}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_stored_errors(path):
    nb = nbtools.read(path)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name} stores an error output"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_opens_with_the_current_setup_cell(path):
    first = nbtools.read(path).cells[0]
    assert first.source == nbtools.setup_cell_source(), f"{path.name}: setup cell is stale; run the refresh"
    assert first.metadata.get("tags") == nbtools.SETUP_TAGS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stored_normalized(path):
    nb = nbtools.read(path)
    assert nb == nbtools.normalized(nb), f"{path.name} carries metadata noise; run the refresh"
    text = path.read_text()
    for noise in ("/work/", "/home/", "/root/", '"execution": {', "iopub.execute_input"):
        assert noise not in text, f"{path.name} contains {noise!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_glued_values_are_plain_numbers_or_text(path):
    for cell in nbtools.read(path).cells:
        for output in cell.get("outputs", []):
            if "scrapbook" in output.get("metadata", {}):
                text = output["data"].get("application/papermill.record/text/plain", "")
                assert "Array(" not in text and "np." not in text, f"{path.name}: glue a plain number, got {text}"


def test_toc_files_resolution_rejects_a_missing_page(tmp_path, monkeypatch):
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: nowhere\n")
    (tmp_path / "intro.md").write_text("# x\n")
    monkeypatch.setattr(nbtools, "REPO", tmp_path)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        nbtools.toc_files()


def test_setup_cell_names_the_configured_repository():
    url, branch = nbtools.repository()
    assert f"git+{url}@{branch}" in nbtools.setup_cell_source()
    json.dumps(nbtools.NOTEBOOK_ENV)  # plain strings only: it is passed to kernels as environment
