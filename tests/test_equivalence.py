import pytest

from dropoutlib.experiments.compare import PairedDifference
from dropoutlib.experiments.equivalence import equivalence_verdict, paper_verdict, part_status


def diff(low, high):
    return PairedDifference((low + high) / 2, low, high, 0.95, 5, 359, "test")


@pytest.mark.parametrize(
    "low, high, higher_is_better, expected",
    [
        (0.2, 3.0, True, "better"),
        (0.2, 3.0, False, "worse"),
        (-3.0, -0.2, False, "better"),
        (0.1, 0.5, True, "better"),  # a difference beats equivalence, even inside the margin
        (-0.9, 0.9, True, "equivalent"),
        (-1.0, 0.5, True, "inconclusive"),  # touching the margin is not inside it
        (-0.5, 1.6, True, "inconclusive"),
        (-2.0, 2.0, False, "inconclusive"),
    ],
)
def test_equivalence_verdict(low, high, higher_is_better, expected):
    assert equivalence_verdict(diff(low, high), 1.0, higher_is_better=higher_is_better) == expected


def test_equivalence_is_symmetric():
    # The same interval mirrored gets the mirrored verdict.
    for low, high in [(0.3, 2.0), (-0.5, 0.7), (-0.4, 1.5)]:
        a = equivalence_verdict(diff(low, high), 1.0)
        b = equivalence_verdict(diff(-high, -low), 1.0)
        swap = {"better": "worse", "worse": "better"}
        assert swap.get(a, a) == b


def test_margin_must_be_positive():
    with pytest.raises(ValueError):
        equivalence_verdict(diff(-1, 1), 0.0)


@pytest.mark.parametrize(
    "low, high, expected, status",
    [
        (0.5, 2.0, "worse", "holds"),
        (-0.5, 0.5, "worse", "fails"),  # equivalent where a rise was expected
        (-2.0, -0.5, "worse", "fails"),
        (-0.5, 2.0, "worse", "open"),
        (-0.5, 0.5, "equivalent", "holds"),
        (0.5, 2.0, "equivalent", "fails"),
        (-0.5, 2.0, "equivalent", "open"),  # the same open interval is open for both
    ],
)
def test_part_status(low, high, expected, status):
    assert part_status(diff(low, high), expected, 1.0, higher_is_better=False) == status


def test_part_status_rejects_unknown_expectation():
    with pytest.raises(ValueError):
        part_status(diff(0, 1), "no detectable difference", 1.0)


@pytest.mark.parametrize(
    "statuses, verdict",
    [
        (["holds", "holds"], "reproduced"),
        (["holds", "open"], "partly reproduced"),
        (["holds", "fails"], "partly reproduced"),
        (["fails", "open"], "not reproduced"),
        (["fails", "fails"], "not reproduced"),
        (["open", "open"], "inconclusive"),
    ],
)
def test_paper_verdict(statuses, verdict):
    assert paper_verdict(statuses) == verdict


def test_paper_verdict_rejects_bad_input():
    for bad in ([], ["holds", "maybe"]):
        with pytest.raises(ValueError):
            paper_verdict(bad)
