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


PAGES_THAT_QUOTE = [AUDIT, nbtools.REPO / "intro.md"]


def verdicts_stated_by_hand(text: str) -> list[str]:
    """Places where a claim is named with a colon ("C4: ...") but its verdict is not the glued one."""
    found = []
    for match in re.finditer(r"\bC(\d+)\)?: ", text):
        rest = text[match.end():match.end() + 80]
        if not re.match(rf"\{{glue:text\}}`[\w/.]*::verdict_C{match.group(1)}\b", rest):
            found.append(text[match.start():match.end() + 40].replace("\n", " "))
    return found


@pytest.mark.parametrize("page", PAGES_THAT_QUOTE, ids=lambda p: p.name)
def test_pages_that_name_a_claim_quote_its_glued_verdict(page):
    assert not verdicts_stated_by_hand(page.read_text()), verdicts_stated_by_hand(page.read_text())


def test_a_verdict_written_by_hand_is_found():
    assert verdicts_stated_by_hand("5. *Boost.* C7: does not hold as stated")
    assert not verdicts_stated_by_hand("C7: {glue:text}`05_learning_rate.ipynb::verdict_C7:s`")
