"""Colab readiness, part d: see tests/test_colab_readiness.py. Split for balance across workers."""

import pytest

from tests.test_colab_readiness import needs_wheelhouse, run_all


@needs_wheelhouse
@pytest.mark.parametrize("stem", ["01_overfitting", "03_binomial"])
def test_run_all_works_from_nothing(colab, stem, monkeypatch):
    run_all(colab, stem, monkeypatch)
