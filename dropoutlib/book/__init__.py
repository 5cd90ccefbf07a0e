"""Helpers the book's notebooks share: glue, one figure style, tables, stored results, profiling.

Nothing here is needed to use dropout; it keeps the notebooks short and
consistent. Needs the ``book`` extra (matplotlib): ``pip install dropoutlib[book]``.
"""

from dropoutlib.book.claims import CLAIMS, glue_verdicts
from dropoutlib.book.format import mean_std
from dropoutlib.book.glue import GLUE_PREFIX, glue, glue_all
from dropoutlib.book.profiling import compiled_cost, forward_backward, residual_bytes
from dropoutlib.book.results import load_result
from dropoutlib.book.style import BOOK_STYLE, band, use_book_style
from dropoutlib.book.tables import Table

__all__ = [
    "BOOK_STYLE",
    "CLAIMS",
    "GLUE_PREFIX",
    "Table",
    "band",
    "compiled_cost",
    "forward_backward",
    "glue",
    "glue_all",
    "glue_verdicts",
    "load_result",
    "mean_std",
    "residual_bytes",
    "use_book_style",
]

