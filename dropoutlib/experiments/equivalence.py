"""Three-way verdicts on a paired difference: different, equivalent within a margin, or inconclusive.

:meth:`~dropoutlib.experiments.compare.PairedDifference.verdict` has two
outcomes, "better"/"worse" when the interval excludes zero and "no
detectable difference" otherwise. Read alone, the second is asymmetric: a
finding of the form "the error is flat" would pass whenever the experiment
is too small to see anything, while a finding of the form "the error rises"
would fail for the same reason. An **equivalence margin** ``m > 0`` fixed
before the verdicts are read makes the two symmetric (the interval
inclusion rule of two one-sided tests, TOST, here with the full 95 %
interval, which is the more conservative choice):

* ``"better"`` / ``"worse"``: the interval ``[low, high]`` excludes zero;
* ``"equivalent"``: it does not, and it lies inside ``(-m, m)``: the
  experiment rules out differences of ``m`` or more;
* ``"inconclusive"``: neither; the interval reaches beyond the margin on
  at least one side and contains zero.

A finding of the paper is a set of **parts**, each an expected verdict
("worse", "better" or "equivalent") on one contrast. :func:`part_status`
scores a part as ``"holds"`` (the expected verdict), ``"fails"`` (the
interval contradicts it: a difference of the other sign or an equivalence
where a difference was expected; a difference where equivalence was
expected) or ``"open"`` (inconclusive). :func:`paper_verdict` combines the
parts: ``"reproduced"`` when all hold, ``"partly reproduced"`` when some
but not all hold, ``"not reproduced"`` when none holds and at least one
fails, ``"inconclusive"`` when none holds and none fails.
"""

from __future__ import annotations

from typing import Sequence

from dropoutlib.experiments.compare import PairedDifference

__all__ = ["equivalence_verdict", "part_status", "paper_verdict"]

_EXPECTED = ("better", "worse", "equivalent")


def equivalence_verdict(d: PairedDifference, margin: float, *, higher_is_better: bool = True) -> str:
    """``"better"``, ``"worse"``, ``"equivalent"`` or ``"inconclusive"`` (A relative to B).

    ``margin`` is in the units of ``d`` (scale ``d`` first, e.g. with
    ``d.scaled(100)`` for points).
    """
    if not margin > 0:
        raise ValueError(f"margin must be positive, got {margin!r}")
    if d.excludes_zero:
        return d.verdict(higher_is_better=higher_is_better)
    if -margin < d.low and d.high < margin:
        return "equivalent"
    return "inconclusive"


def part_status(d: PairedDifference, expected: str, margin: float, *, higher_is_better: bool = True) -> str:
    """``"holds"``, ``"fails"`` or ``"open"``: does the contrast ``d`` show the ``expected`` verdict?"""
    if expected not in _EXPECTED:
        raise ValueError(f"expected must be one of {_EXPECTED}, got {expected!r}")
    found = equivalence_verdict(d, margin, higher_is_better=higher_is_better)
    if found == expected:
        return "holds"
    return "open" if found == "inconclusive" else "fails"


def paper_verdict(statuses: Sequence[str]) -> str:
    """Combine the statuses of a finding's parts (see the module docstring)."""
    statuses = list(statuses)
    if not statuses or any(s not in ("holds", "fails", "open") for s in statuses):
        raise ValueError(f"statuses must be a non-empty list of 'holds', 'fails', 'open', got {statuses!r}")
    if all(s == "holds" for s in statuses):
        return "reproduced"
    if any(s == "holds" for s in statuses):
        return "partly reproduced"
    return "not reproduced" if any(s == "fails" for s in statuses) else "inconclusive"
