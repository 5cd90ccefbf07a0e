"""The source's claims and the book's one verdict on each, kept in one place.

A claim is judged in the chapter that checks it (its ``home``) and listed
again in the claim audit (chapter 9). Both read the verdict from here: the
home chapter glues it with :func:`glue_verdicts` (as ``verdict_C7``, say) and
shows it in its verdict box; chapter 9 quotes that glued value. A test
(``tests/test_claims.py``) fails when a chapter or the audit states a verdict
that is not this one.

The vocabulary, used the same way everywhere:

* **holds**: the computation confirms the claim as stated;
* **holds, with a correction**: the substance is right, a formula, factor or
  definition needed fixing;
* **holds, with limits**: true where the book checked it, not everywhere;
* **partly holds**: one part is right, another is not (the verdict says which);
* **not shown at this scale**: the book's small experiment detects no effect
  either way (the paired interval includes zero), so it neither confirms nor
  refutes the claim;
* **does not hold**: the computation contradicts it.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

from dropoutlib.book.glue import glue

__all__ = ["CLAIMS", "Claim", "glue_verdicts"]


class Claim(NamedTuple):
    """One claim of the source: what it says, the verdict, and the chapter that checks it."""

    statement: str
    verdict: str
    home: str  # the notebook (stem) whose computation decides it


CLAIMS: dict[str, Claim] = {
    "C1": Claim("One neuron under dropout is a Bernoulli variable", "holds", "02_bernoulli"),
    "C2": Claim("Direct dropout must scale by q at test time", "holds", "02_bernoulli"),
    "C3": Claim("Inverted dropout scales by 1/q in training and leaves test time alone", "holds", "02_bernoulli"),
    "C4": Claim("The number of dropped units is Binomial(n, p)", "holds", "03_binomial"),
    "C5": Claim("Exactly 512 of 1024 dropped at p = 0.5 is unlikely", "holds", "03_binomial"),
    "C6": Claim("On average np units are dropped, nearly symmetrically", "holds", "03_binomial"),
    "C7": Claim(
        "Inverted dropout boosts the learning rate by 1/q",
        "partly holds: the direction is right relative to direct dropout; the factor and the mechanism are not",
        "05_learning_rate",
    ),
    "C8": Claim(
        "Dropout alone does not stop the weights from growing; use L2 or max-norm with it",
        "holds, with limits: with dropout alone the weights grew more and ran away at a step where the plain "
        "network did not, and inverted dropout's larger steps (1/q² times direct dropout's) added growth and "
        "runaways; where dropout alone ran away, L2 or max-norm lowered the test error, but with neither could "
        "the step be doubled without a detectable loss of accuracy",
        "06_regularizers",
    ),
    "C9": Claim(
        "Max-norm bounds each weight, |w| <= c",
        "partly holds: max-norm is a bound with radius c, but on each unit's incoming weight vector, "
        "||w_j||_2 <= c, not on each weight; a per-weight clip at c is a different, much looser constraint",
        "06_regularizers",
    ),
    "C10": Claim(
        "Dropout prevents overfitting",
        "not shown at this scale: after 2000 Adam steps, no detectable gain in test error or Brier score"
        " on 250 or 1079 training digits; the intervals still allow a gain of a point or more",
        "01_overfitting",
    ),
}


def glue_verdicts(ids: Iterable[str]) -> None:
    """Glue ``verdict_<id>`` for each claim id, for the chapter's verdict box and the audit."""
    for claim_id in ids:
        if claim_id not in CLAIMS:
            raise KeyError(f"no claim {claim_id!r}; the claims are {sorted(CLAIMS)}")
        glue(f"verdict_{claim_id}", CLAIMS[claim_id].verdict)
