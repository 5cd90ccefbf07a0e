"""One verdict per claim: the chapters and the audit state the verdict of ``dropoutlib.book.claims``."""

import re

import pytest

from dropoutlib.book import CLAIMS
from dropoutlib.book.glue import GLUE_PREFIX
from tools import nbtools

AUDIT = nbtools.REPO / "chapters" / "09_claims.md"


def glued(stem: str) -> dict[str, str]:
    """Every glued text value of a stored notebook, by name."""
    values = {}
    for cell in nbtools.read(nbtools.REPO / "chapters" / f"{stem}.ipynb").cells:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get("scrapbook")
            if record:
                text = output["data"].get(GLUE_PREFIX + "text/plain") or output["data"].get("text/plain", "")
                values[record["name"]] = text.strip("'\"")
    return values


@pytest.mark.parametrize("claim_id", sorted(CLAIMS))
def test_the_home_chapter_glues_the_one_verdict(claim_id):
    claim = CLAIMS[claim_id]
    assert glued(claim.home).get(f"verdict_{claim_id}") == claim.verdict, (
        f"{claim.home} must glue verdict_{claim_id} from dropoutlib.book.claims (glue_verdicts)"
    )


@pytest.mark.parametrize("claim_id", sorted(CLAIMS))
def test_the_audit_quotes_the_home_chapters_verdict(claim_id):
    claim = CLAIMS[claim_id]
    row = next((line for line in AUDIT.read_text().splitlines() if line.startswith(f"| {claim_id} |")), None)
    assert row is not None, f"chapter 9 has no table row for {claim_id}"
    assert f"{claim.home}.ipynb::verdict_{claim_id}" in row, f"chapter 9's {claim_id} row must quote the glued verdict"


def test_no_chapter_glues_a_different_verdict():
    for path in nbtools.toc_notebooks():
        for name, value in glued(path.stem).items():
            match = re.fullmatch(r"verdict_(C\d+)", name)
            if match:
                assert value == CLAIMS[match.group(1)].verdict, f"{path.name} glues {name} = {value!r}"
