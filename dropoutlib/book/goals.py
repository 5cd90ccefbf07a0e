r"""Judging a performance goal from benchmark rounds: met or missed, and how surely.

A benchmark stores, per variant, the median, minimum and maximum over its
rounds of a ratio (a time divided by the time of a reference measured in the
same round). A goal is a bound on that ratio, ``ratio <= goal`` (at most) or
``ratio >= goal`` (at least). It is judged twice: by the median over the
rounds, and by the worst round (the maximum for an upper bound, the minimum
for a lower bound).

:func:`resolve` judges a goal only as far as the measurement resolves it. The
median of the per-round ratios estimates the typical ratio; a
distribution-free confidence interval for the population median comes from
two order statistics (:func:`median_interval`): for rounds
:math:`x_{(1)} \le \dots \le x_{(n)}` and any continuous distribution,
:math:`P(x_{(j)} < m < x_{(n+1-j)}) = 1 - 2\,P(B \le j - 1)` with
:math:`B \sim \mathrm{Binomial}(n, 1/2)`. When a result stores only the
minimum, median and maximum of the rounds, the only interval that those
allow is :math:`[x_{(1)}, x_{(n)}]` (coverage :math:`1 - 2^{1-n}`), which is
what :func:`resolve` uses then. A goal is "met" when the whole interval is on
its side of the line, "missed" when the whole interval is on the other side,
and "undetermined" when the interval contains the line.
"""

from __future__ import annotations

from math import comb
from typing import Mapping, Sequence

__all__ = ["describe", "judge", "median_interval", "quotient_bounds", "resolve"]


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


def median_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    r"""(low, high, coverage): the order-statistic confidence interval for the median.

    With :math:`n` values sorted, the interval is :math:`[x_{(j)}, x_{(n+1-j)}]`
    for the largest :math:`j \ge 1` whose coverage
    :math:`1 - 2\,P(B \le j - 1)`, :math:`B \sim \mathrm{Binomial}(n, 1/2)`,
    is still at least ``level``; for 15 rounds that is :math:`j = 4`
    (coverage 0.965). Raises ``ValueError`` when even :math:`[x_{(1)}, x_{(n)}]`
    (coverage :math:`1 - 2^{1-n}`) falls short of ``level``.
    """
    x = sorted(values)
    n = len(x)

    def coverage(j: int) -> float:
        return 1.0 - 2.0 * sum(comb(n, k) for k in range(j)) / 2.0**n

    if n == 0 or coverage(1) < level:
        raise ValueError(f"{n} values cannot give a {level:.0%} interval for the median")
    j = 1
    while j + 1 <= (n + 1) // 2 and coverage(j + 1) >= level:
        j += 1
    return x[j - 1], x[n - j], coverage(j)


def resolve(stats: Mapping[str, object], goal: float, *, at_most: bool = True,
            level: float = 0.95) -> tuple[str, float, float]:
    """(verdict, low, high): "met", "missed" or "undetermined", and the interval judged.

    With per-round values (``stats["rounds"]``) the interval is
    :func:`median_interval` at ``level``; without, it is ``[min, max]`` of the
    rounds. For ``at_most`` the goal is ``ratio <= goal``: "met" when
    ``high <= goal``, "missed" when ``low > goal``; otherwise (``ratio >=
    goal``) "met" when ``low >= goal``, "missed" when ``high < goal``. An
    interval that contains the goal gives "undetermined".
    """
    rounds = stats.get("rounds")
    if rounds:
        low, high, _ = median_interval(rounds, level)  # type: ignore[arg-type]
    else:
        low, high = float(stats["min"]), float(stats["max"])  # type: ignore[arg-type]
    if at_most:
        verdict = "met" if high <= goal else "missed" if low > goal else "undetermined"
    else:
        verdict = "met" if low >= goal else "missed" if high < goal else "undetermined"
    return verdict, low, high


def describe(stats: Mapping[str, object], goal: float, *, at_most: bool = True,
             digits: int = 2) -> str:
    """The verdict of :func:`resolve` in words, with the interval it was judged on.

    For example "not resolved by this measurement: its rounds (0.49 to 9.27)
    span the goal", or "met: all its rounds (1.00 to 1.02) are within it".
    """
    verdict, low, high = resolve(stats, goal, at_most=at_most)
    span = f"{low:.{digits}f} to {high:.{digits}f}"
    if stats.get("rounds"):
        what, are = f"the 95 % interval for its median ({span})", "is"
    else:
        what, are = f"its rounds ({span})", "are"
    if verdict == "undetermined":
        return f"not resolved by this measurement: {what} {'contains' if are == 'is' else 'span'} the goal"
    where = "within" if verdict == "met" else "beyond"
    return f"{verdict}: {'' if are == 'is' else 'all '}{what} {are} {where} it"
