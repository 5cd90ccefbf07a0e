"""Judging a performance goal from benchmark rounds: met or missed, and how surely.

A benchmark stores, per variant, the median, minimum and maximum over its
rounds of a ratio (a time divided by the time of a reference measured in the
same round). A goal is a bound on that ratio, ``ratio <= goal`` (at most) or
``ratio >= goal`` (at least). It is judged twice: by the median over the
rounds, and by the worst round (the maximum for an upper bound, the minimum
for a lower bound).
"""

from __future__ import annotations

from typing import Mapping

__all__ = ["judge", "quotient_bounds"]


def judge(stats: Mapping[str, float], goal: float, *, at_most: bool = True) -> tuple[str, str]:
    """(verdict by the median, verdict in the worst round), each "met" or "missed".

    ``stats`` has ``median``, ``min`` and ``max``. For ``at_most`` the goal is
    met when the ratio is <= ``goal``; otherwise when it is >= ``goal``. A
    ``None`` for ``min``/``max`` (unknown worst round) gives "unknown".
    """
    def met(value: float | None) -> str:
        if value is None:
            return "unknown"
        return "met" if (value <= goal if at_most else value >= goal) else "missed"

    return met(stats["median"]), met(stats["max"] if at_most else stats["min"])


def quotient_bounds(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float]:
    """Bounds on the per-round quotient a_i / b_i from each one's own statistics.

    When only each variant's median, minimum and maximum over the rounds are
    stored, every round's quotient lies in ``[a.min / b.max, a.max / b.min]``
    (both are positive ratios). ``median`` is the quotient of the medians,
    which is not in general the median of the quotients.
    """
    return {"median": a["median"] / b["median"], "min": a["min"] / b["max"],
            "max": a["max"] / b["min"]}
