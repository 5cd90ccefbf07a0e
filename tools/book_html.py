"""Sphinx extension: two fixes to the HTML that readers' browsers get.

* **Offline MathJax.** Sphinx's default MathJax comes from a
  content-delivery network, so a book built or read offline shows raw TeX.
  The PyPI package ``django-static-mathjax`` ships MathJax 3 as plain static
  files (it needs no Django); its ``es5`` bundle is copied into the book's
  ``_static`` and ``mathjax_path`` points at it.
* **No duplicated inline scripts.** With jupyter-book 1.0.4 and sphinx-thebe
  0.3.1 the inline script declaring ``const THEBE_JS_URL`` is registered
  twice, and the second ``const`` declaration is a JavaScript error on every
  page. Identical inline scripts are dropped from each page's script list.
"""

from __future__ import annotations

from pathlib import Path


def _add_mathjax(app) -> None:
    import mathjax  # provided by django-static-mathjax

    bundle = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (bundle / "tex-chtml.js").is_file():
        raise RuntimeError(f"MathJax bundle not found at {bundle}; reinstall django-static-mathjax")
    app.config.html_static_path.append(str(bundle))
    app.config.mathjax_path = "tex-chtml.js"


def _drop_duplicate_inline_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        body = getattr(script, "attributes", {}).get("body") if hasattr(script, "attributes") else None
        if body:
            if body in seen:
                continue
            seen.add(body)
        kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect("builder-inited", _add_mathjax)
    app.connect("html-page-context", _drop_duplicate_inline_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
