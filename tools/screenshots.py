"""Look at every page of the built book as a reader would, wide and on a phone.

    .venv/bin/python tools/screenshots.py            # after tools/build_book.sh

Opens every page of ``_build/html`` in headless Chromium at 1280 px and at a
390 px phone viewport, saves a full-page screenshot of each in
``_build/screenshots/<width>/``, and reports any page whose body is wider than
the viewport (something a phone reader would have to scroll sideways for;
code blocks and tables scroll inside their own boxes and do not count).
``--readme`` also refreshes the README's picture, ``assets/book-screenshot.png``,
from the top of chapter 1 at 1280 px. Exits 1 when a page overflows.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_book_build import CHROMIUM_FLAGS, HTML, _chromium, _pages, _QuietHandler  # noqa: E402
from tools.nbtools import REPO  # noqa: E402

WIDTHS = {1280: 900, 390: 844}  # viewport width -> height (a desktop, a phone)
README_PAGE = "chapters/01_overfitting.html"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", action="store_true", help="refresh assets/book-screenshot.png")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    overflowing = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
        for width, height in WIDTHS.items():
            out = REPO / "_build" / "screenshots" / str(width)
            out.mkdir(parents=True, exist_ok=True)
            page = browser.new_page(viewport={"width": width, "height": height})
            for html in _pages():
                rel = html.relative_to(HTML).as_posix()
                page.goto(base + rel, wait_until="networkidle")
                body_width = page.evaluate("() => document.documentElement.scrollWidth")
                if body_width > width:
                    overflowing.append(f"{rel} at {width} px: the page is {body_width} px wide")
                page.screenshot(path=str(out / (rel.replace("/", "_").removesuffix(".html") + ".png")), full_page=True)
                if args.readme and width == 1280 and rel == README_PAGE:
                    page.screenshot(path=str(REPO / "assets" / "book-screenshot.png"))
            print(f"{width} px: {len(_pages())} pages in {out.relative_to(REPO)}")
            page.close()
        browser.close()
    server.shutdown()
    for line in overflowing:
        print("overflow:", line)
    return 1 if overflowing else 0


if __name__ == "__main__":
    sys.exit(main())
