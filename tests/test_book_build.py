"""The rendered book, checked as a reader meets it.

1. It builds with zero warnings: ``jupyter-book build . --all -W -n --keep-going``
   (``--all`` rebuilds every page: an incremental build skips unchanged pages
   and with them their warnings).
2. Every page, opened in headless Chromium (Debian's ``chromium``, driven by
   Playwright), has no JavaScript errors, typeset math and no raw TeX left,
   loaded figures, internal links that resolve, and, on notebook pages, a
   Colab launch button for that notebook. A screenshot of each page is saved
   in ``_build/screenshots/`` for a human look.

Both live in one file so that one pytest worker builds the book once and
then reads it.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest
import yaml

from tools.nbtools import REPO, toc_files

HTML = REPO / "_build" / "html"
SHOTS = REPO / "_build" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def build_log() -> str:
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jupyter_book), "build", str(REPO), "--all", "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    return log


def test_book_builds_without_warnings(build_log):
    assert "WARNING" not in build_log, build_log[-6000:]
    for page in toc_files():
        html = HTML / page.relative_to(REPO).with_suffix(".html")
        assert html.is_file(), f"no HTML page for {page.name}"


# ---------------------------------------------------------------- the browser
def _pages() -> list[Path]:
    return [HTML / page.relative_to(REPO).with_suffix(".html") for page in toc_files()]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Debian's chromium is not installed; tools/test.sh installs it (apt-get install chromium)")
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output clean
        pass


PAGE_PROBE = """() => {
  const article = document.querySelector('article') || document.body;
  const copy = article.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, mjx-container, .MathJax').forEach(e => e.remove());
  const maths = Array.from(document.querySelectorAll('.math'));
  return {
    text: copy.innerText,
    math_total: maths.length,
    math_typeset: maths.filter(m => m.querySelector('mjx-container')).length,
    images: Array.from(document.images).map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0})),
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href')),
  };
}"""


@pytest.fixture(scope="module")
def rendered(build_log) -> dict[str, dict]:
    """Open every page once; collect what the checks need."""
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    SHOTS.mkdir(parents=True, exist_ok=True)
    results = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
            for html in _pages():
                errors.clear()
                rel = html.relative_to(HTML).as_posix()
                page.goto(base + rel, wait_until="load")
                page.wait_for_function(
                    "() => !document.querySelector('.math') || (window.MathJax && MathJax.startup && MathJax.startup.promise)",
                    timeout=30_000,
                )
                page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
                page.wait_for_load_state("networkidle")
                data = page.evaluate(PAGE_PROBE)
                data["errors"] = list(errors)
                data["url"] = base + rel
                page.screenshot(path=str(SHOTS / (rel.replace("/", "_").removesuffix(".html") + ".png")))
                results[rel] = data
            browser.close()
    finally:
        server.shutdown()
    return results


def test_every_page_opens_without_javascript_errors(rendered):
    bad = {page: data["errors"] for page, data in rendered.items() if data["errors"]}
    assert not bad, bad


def test_math_is_typeset_and_no_raw_tex_is_left(rendered):
    raw = re.compile(r"\$\$|\\\(|\\\[|\\begin\{|\\frac|\\sum|(?<![\w$])\$[^$\s][^$]*\$")
    problems = {}
    for page, data in rendered.items():
        if data["math_typeset"] != data["math_total"]:
            problems[page] = f"{data['math_total'] - data['math_typeset']} of {data['math_total']} math elements not typeset"
        match = raw.search(data["text"])
        if match:
            problems[page] = f"raw TeX in the text: {data['text'][max(0, match.start() - 40):match.end() + 40]!r}"
    assert not problems, problems
    assert sum(data["math_total"] for data in rendered.values()) > 50  # the book does contain math


# MyST markup that a reader should never see: a role ({glue:text}`x`,
# {cite:p}`x`, {numref}`x`, {ref}`x`, {doc}`x`, {eq}`x`, {math}`x`) or a
# directive fence (```{figure}, :::{admonition}) left as text by a typo,
# such as a role missing its closing backtick. Code blocks are excluded
# from the probed text, so examples of markup inside code do not count.
RAW_MYST = re.compile(r"\{(glue|glue:[a-z]+|cite|cite:[a-z]+|numref|ref|doc|eq|math|term|download)\}|(```|:::)\{[a-z-]+\}")


def test_no_unrendered_myst_markup_is_visible(rendered):
    problems = {}
    for page, data in rendered.items():
        match = RAW_MYST.search(data["text"])
        if match:
            problems[page] = data["text"][max(0, match.start() - 60) : match.end() + 60]
    assert not problems, problems


def test_every_figure_has_loaded(rendered):
    broken = {page: [i["src"] for i in data["images"] if not i["ok"]] for page, data in rendered.items()}
    broken = {page: srcs for page, srcs in broken.items() if srcs}
    assert not broken, broken
    assert sum(len(data["images"]) for data in rendered.values()) >= 20


def _ids_of(path: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', path.read_text(errors="replace")))


def test_every_internal_link_resolves(rendered):
    missing = []
    id_cache: dict[Path, set[str]] = {}
    for page, data in rendered.items():
        for href in data["links"]:
            target = urlparse(urljoin(data["url"], href))
            if target.scheme not in ("http", "https") or target.hostname != "127.0.0.1":
                continue  # external links are not followed: no network
            path = HTML / unquote(target.path.lstrip("/"))
            if path.is_dir():
                path = path / "index.html"
            if not path.is_file():
                missing.append(f"{page}: {href}")
            elif target.fragment and path.suffix == ".html":
                ids = id_cache.setdefault(path, _ids_of(path))
                if unquote(target.fragment) not in ids:
                    missing.append(f"{page}: {href} (no such anchor)")
    assert not missing, missing


def test_every_notebook_page_has_its_colab_button(rendered):
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    repo_path = urlparse(config["repository"]["url"]).path.strip("/")
    branch = config["repository"].get("branch", "main")
    missing = []
    for notebook in (p for p in toc_files() if p.suffix == ".ipynb"):
        rel = notebook.relative_to(REPO)
        expected = f"{config['launch_buttons']['colab_url']}/github/{repo_path}/blob/{branch}/{rel.as_posix()}"
        links = rendered[rel.with_suffix(".html").as_posix()]["links"]
        if expected not in links:
            missing.append(f"{rel}: expected {expected}")
    assert not missing, missing


def test_screenshots_were_saved(rendered):
    shots = sorted(os.listdir(SHOTS))
    assert len(shots) >= len(rendered), shots
