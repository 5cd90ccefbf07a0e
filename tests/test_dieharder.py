"""A quick subset of Debian's dieharder on the mask generators, with a negative control.

The full battery (``dieharder -a`` on every generator and stream, an hour or
more each) is ``benchmarks/dieharder_battery.py``; its results are in
``dropoutlib/book/results/dieharder.json`` and chapter 8. Here three classic
tests that need little data (birthday spacings, runs, monobit) run on the
hash and on Philox along each of the three streams, and the same three must
fail the Weyl sequence, or the check proves nothing. The streams are fixed,
so every p-value is deterministic.

A generator passes when every p-value lies inside (3.2e-5, 1 - 3.2e-5), the
4-sigma two-sided bounds used across the test suite (dieharder itself calls
a test failed only beyond 1e-6); the Weyl sequence must give p-values beyond
1e-6 on every test, which is dieharder's own threshold for "FAILED".
"""

import shutil

import pytest

from benchmarks.dieharder_battery import run_dieharder

TAIL = 3.2e-5
QUICK_TESTS = (["-d", "0"], ["-d", "15"], ["-d", "100"])  # birthdays, runs, monobit


def _dieharder() -> None:
    if shutil.which("dieharder") is None:
        pytest.fail("Debian's dieharder is not installed; tools/test.sh installs it (apt-get install dieharder)")


def quick(generator: str, stream: str) -> list[dict]:
    _dieharder()
    results = []
    for test in QUICK_TESTS:
        run = run_dieharder(generator, stream, test, extra=(), timeout=120)
        assert run["results"], f"dieharder {' '.join(test)} reported nothing for {generator}/{stream}"
        results += run["results"]
    return results


@pytest.mark.parametrize("stream", ["index", "steps", "wrap"])
@pytest.mark.parametrize("generator", ["hash", "philox"])
def test_quick_battery_passes_the_mask_generators(generator, stream):
    results = quick(generator, stream)
    assert len(results) == 4  # diehard_runs reports two p-values
    for r in results:
        assert TAIL < r["pvalue"] < 1 - TAIL, f"{generator}/{stream}: {r}"


def test_quick_battery_fails_the_weyl_sequence_clearly():
    results = quick("weyl", "index")
    assert len(results) == 4
    for r in results:
        assert r["assessment"] == "FAILED" and min(r["pvalue"], 1 - r["pvalue"]) < 1e-6, r
