"""Tables that render as tables: one output, a header and its rows together.

A table printed row by row in a loop becomes one output box per row in the
rendered book. :class:`Table` is one object with two faces: Markdown for the
book and for Jupyter (a real table), and aligned plain text for a terminal
and for nbval, which compares both.
"""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["Table"]


class Table:
    """A table of already formatted cells.

    ``Table(["rate", "error (%)"], [["0.5", "1.2"], ...], caption="...")``;
    cells are converted with ``str``. Numbers should be formatted by the
    caller, to the digits that carry meaning. ``align`` holds one of
    ``"l"``, ``"r"`` or ``"c"`` per column (default: left for the first
    column, right for the others).
    """

    def __init__(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        caption: str | None = None,
        align: Sequence[str] | None = None,
    ) -> None:
        self.header = [str(h) for h in header]
        self.rows = [[str(cell) for cell in row] for row in rows]
        for row in self.rows:
            if len(row) != len(self.header):
                raise ValueError(f"a row has {len(row)} cells for {len(self.header)} columns: {row!r}")
        self.align = list(align) if align is not None else ["l"] + ["r"] * (len(self.header) - 1)
        if len(self.align) != len(self.header) or set(self.align) - {"l", "r", "c"}:
            raise ValueError(f"align needs one of 'l', 'r', 'c' per column, got {align!r}")
        self.caption = caption

    def _repr_markdown_(self) -> str:
        rule = {"l": ":--", "r": "--:", "c": ":-:"}
        escape = lambda text: text.replace("|", "\\|")  # noqa: E731
        lines = [
            "| " + " | ".join(escape(h) for h in self.header) + " |",
            "| " + " | ".join(rule[a] for a in self.align) + " |",
        ]
        lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in self.rows]
        if self.caption:
            lines = [f"**{self.caption}**", ""] + lines
        return "\n".join(lines)

    def __repr__(self) -> str:
        widths = [max(len(row[j]) for row in [self.header] + self.rows) for j in range(len(self.header))]

        def line(cells: Sequence[str]) -> str:
            out = []
            for cell, width, a in zip(cells, widths, self.align):
                out.append(cell.ljust(width) if a == "l" else cell.rjust(width) if a == "r" else cell.center(width))
            return "  ".join(out).rstrip()

        text = [line(self.header), "  ".join("-" * w for w in widths)] + [line(row) for row in self.rows]
        return "\n".join(([self.caption] if self.caption else []) + text)
