"""The stored notebooks are what nbval needs them to be.

nbval compares a cell only when its stored ``execution_count`` is set, so a
notebook stored unexecuted would pass strict nbval while checking nothing.
These tests close that hole, and check that every notebook is in the book
and stored in the normalized form that the refresh command writes.
"""

import re

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


def test_notebook_environment_is_plain_strings():
    # It is passed to kernels as their environment, which takes strings only.
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in nbtools.NOTEBOOK_ENV.items())


NBVAL_TAG = re.compile(r"^nbval", re.IGNORECASE)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_nbval_marker_outside_the_setup_cell(path):
    # A marker (a tag such as nbval-skip or nbval-ignore-output, or a
    # "# NBVAL_..." comment) would silently exempt a cell from the
    # regression test. Only the generated setup cell may carry one.
    for index, cell in enumerate(nbtools.read(path).cells):
        if nbtools.is_setup_cell(cell):
            continue
        tags = [tag for tag in cell.metadata.get("tags", []) if NBVAL_TAG.match(tag)]
        assert not tags, f"{path.name}, cell {index}: nbval tag {tags}"
        assert "NBVAL_" not in cell.source.upper(), f"{path.name}, cell {index}: an NBVAL_ comment"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_stored_warnings(path):
    found = nbtools.stderr_of(nbtools.read(path))
    assert not found, f"{path.name} stores stderr (a warning?) in cells {[i for i, _ in found]}"


def test_progress_bars_are_the_only_stderr_that_is_filtered():
    bar = "\rtraining:  40%|####      | 400/1000 [00:02<00:03, 190.1step/s]\rtraining: 100%|##########| 1000/1000 [00:05<00:00]\n"
    assert nbtools.without_progress_bars(bar) == ""
    warning = "/x.py:3: RuntimeWarning: invalid value encountered in divide\n"
    assert nbtools.without_progress_bars(bar + warning) == warning


MAX_LINE = 88  # what fits the rendered book's code and output boxes


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_code_or_output_line_runs_past_the_right_edge(path):
    long_lines = []
    for index, cell in enumerate(nbtools.read(path).cells):
        if cell.cell_type != "code":
            continue
        texts = [cell.source]
        for output in cell.outputs:
            if output.output_type == "stream":
                texts.append(output.text)
            elif output.output_type in ("execute_result", "display_data") and "scrapbook" not in output.get("metadata", {}):
                texts.append(output.get("data", {}).get("text/plain", ""))
        for text in texts:
            long_lines += [f"cell {index}: {line[:60]}... ({len(line)})" for line in text.splitlines() if len(line) > MAX_LINE]
    assert not long_lines, f"{path.name} has lines over {MAX_LINE} characters:\n" + "\n".join(long_lines)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_a_figure_cell_shows_one_rich_output(path):
    # myst-nb wraps every rich output of a cell with figure metadata in its own
    # figure, all with the cell's label: a second output (a table, a glue)
    # gives "Duplicate explicit target name" and breaks the book's cross-links.
    crowded = []
    for index, cell in enumerate(nbtools.read(path).cells):
        if cell.cell_type != "code" or "figure" not in cell.metadata.get("mystnb", {}):
            continue
        rich = [o for o in cell.outputs if o.output_type in ("execute_result", "display_data")
                and "scrapbook" not in o.get("metadata", {})]  # a glue is not shown
        if len(rich) != 1:
            crowded.append(f"cell {index}: {len(rich)} rich outputs")
    assert not crowded, f"{path.name}: figure cells need exactly one rich output:\n" + "\n".join(crowded)


def lines_that_break_inline_math(markdown: str) -> list[str]:
    """Lines that start with a list marker (``+ ``, ``- ``, ``* ``) inside an open ``$...$``.

    Markdown reads such a line as a new list item, which cuts the formula in
    two and leaves raw TeX on the page.
    """
    found, open_math = [], False
    for line in markdown.split("\n"):
        if not line.strip():
            open_math = False  # inline math does not cross a blank line
            continue
        if open_math and re.match(r"\s*[-+*] ", line):
            found.append(line)
        open_math ^= line.replace("$$", "").count("$") % 2 == 1
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_markdown_line_starts_a_list_inside_a_formula(path):
    found = [f"cell {i}: {line}" for i, cell in enumerate(nbtools.read(path).cells) if cell.cell_type == "markdown"
             for line in lines_that_break_inline_math(cell.source)]
    assert not found, f"{path.name}: a line inside $...$ starts like a list item:\n" + "\n".join(found)


def test_a_formula_broken_by_a_list_marker_is_found():
    assert lines_that_break_inline_math("is $a + b\n- 2 c$ here")
    assert not lines_that_break_inline_math("is $a + b -\n2 c$ here\n- a real item")
