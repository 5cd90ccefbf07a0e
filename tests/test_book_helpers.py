"""The notebooks' shared helpers: glue without myst-nb, bands, tables, stored results."""


import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dropoutlib import book  # noqa: E402


@pytest.fixture
def shell(monkeypatch):
    import IPython
    from IPython.core.interactiveshell import InteractiveShell

    instance = InteractiveShell.instance()
    monkeypatch.setattr(IPython, "get_ipython", lambda: instance)
    return instance


def captured(fn, *args, **kwargs):
    from IPython.utils.capture import capture_output

    with capture_output() as out:
        fn(*args, **kwargs)
    return [(o.data, o.metadata) for o in out.outputs]


@pytest.mark.parametrize("value, display", [(0.5, False), (3, True), ("text", False), (1234567, False)])
def test_glue_writes_exactly_what_myst_nb_writes(shell, value, display):
    # The same record with or without myst-nb: that is what lets the Colab
    # runtime (no myst-nb) reproduce the stored outputs.
    from myst_nb import glue as myst_glue

    ours = captured(book.glue, "name", value, display=display)
    assert ours == captured(myst_glue, "name", value, display=display)
    assert ours and ours[0][1]["scrapbook"]["name"] == "name"


def test_glue_turns_array_scalars_into_plain_numbers_and_glue_all_glues_each(shell):
    ours = captured(book.glue_all, {"a": np.float32(0.5), "b": np.int64(3)})
    texts = [data[book.GLUE_PREFIX + "text/plain"] for data, _ in ours]
    assert texts == ["0.5", "3"]


def test_glue_does_nothing_outside_ipython(monkeypatch, capsys):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    book.glue("answer", 42)
    assert capsys.readouterr().out == ""


def test_band_plots_mean_and_spread():
    fig, ax = plt.subplots()
    samples = np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]])
    line = book.band(ax, [0, 1, 2], samples, "x")
    np.testing.assert_allclose(line.get_ydata(), [2.0, 3.0, 4.0])
    (poly,) = ax.collections
    vertices = poly.get_paths()[0].vertices[:, 1]
    assert vertices.min() == pytest.approx(2.0 - np.sqrt(2)) and vertices.max() == pytest.approx(4.0 + np.sqrt(2))
    with pytest.raises(ValueError, match="shape"):
        book.band(ax, [0, 1], samples, "bad")
    plt.close(fig)


def test_mean_std_formats_the_spread_over_seeds():
    assert book.mean_std([0.9, 0.95, 1.0], digits=3) == "0.950 ± 0.050"
    assert book.mean_std([0.1, 0.3], digits=1, scale=100) == "20.0 ± 14.1"


def test_use_book_style_sets_the_palette():
    book.use_book_style()
    assert matplotlib.rcParams["axes.spines.top"] is False


def test_table_renders_as_one_markdown_table_and_aligned_text():
    table = book.Table(["rate", "error (%)"], [["0.5", "1.25"], ["0.25", "10.5"]], caption="Errors")
    markdown = table._repr_markdown_()
    assert markdown.splitlines() == ["**Errors**", "", "| rate | error (%) |", "| :-- | --: |", "| 0.5 | 1.25 |", "| 0.25 | 10.5 |"]
    assert repr(table).splitlines() == ["Errors", "rate  error (%)", "----  ---------", "0.5        1.25", "0.25       10.5"]
    assert "\\|" in book.Table(["a"], [["x|y"]])._repr_markdown_()
    with pytest.raises(ValueError, match="2 cells for 1 columns"):
        book.Table(["a"], [["1", "2"]])
    with pytest.raises(ValueError, match="align"):
        book.Table(["a"], [["1"]], align=["x"])


def test_load_result_reads_shipped_benchmarks_and_names_a_missing_one():
    result = book.load_result("throughput_cpu")
    assert result["machine"] and result["rows"]
    with pytest.raises(FileNotFoundError, match="nonexistent"):
        book.load_result("nonexistent")
