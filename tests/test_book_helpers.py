"""The notebooks' shared helpers: glue without myst-nb, bands, mean ± std."""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dropoutlib import book  # noqa: E402


def test_glue_runs_where_myst_nb_is_absent(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # makes `import myst_nb` fail
    book.glue("answer", 42)  # no error, nothing to record it
    book.glue("shown", 7, display=True)
    assert "7" in capsys.readouterr().out


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


def test_load_result_reads_shipped_benchmarks_and_names_a_missing_one():
    result = book.load_result("throughput_cpu")
    assert result["machine"] and result["rows"]
    names = {row["name"] for row in result["rows"]}
    assert {"copy", "bernoulli", "fast"} <= names
    with pytest.raises(FileNotFoundError, match="nonexistent"):
        book.load_result("nonexistent")
