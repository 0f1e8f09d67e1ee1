"""Tables that read well at any terminal width: no header cut to "accura…", no word split mid-way.

rich shrinks a too-wide table by cutting its widest columns, whatever their words; here the column
widths are chosen first: every column at least as wide as its longest word (numbers and other
right-aligned cells whole), the rest of the width shared out by need. When even that does not fit
(8 columns at 80), the table turns on its side: one line per field, one column per row (the rows'
first cells as headers), or, for many rows, one small field/value table per row.
"""

from __future__ import annotations

from collections.abc import Sequence

#: columns of borders and padding a boxed rich table adds: "│ " before each column, " │" at the end
_FRAME_PER_COL, _FRAME_FIXED = 3, 1


def _words(text: str) -> list[str]:
    return text.split() or [""]


def _min_width(header: str, cells: Sequence[str], whole: bool) -> int:
    """The narrowest the column can be without splitting a word (or a whole cell when `whole`)."""
    longest = max(len(w) for w in _words(header))
    for cell in cells:
        longest = max(longest, len(cell) if whole else max(len(w) for w in _words(cell)))
    return max(longest, 1)


def fit_widths(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int,
               whole: Sequence[bool] | None = None) -> list[int] | None:
    """Column content widths that fit `width` without splitting a word, or None when none do."""
    whole = whole or [False] * len(headers)
    cols = [[str(r[i]) for r in rows] for i in range(len(headers))]
    natural = [max([len(headers[i])] + [len(c) for c in cols[i]]) for i in range(len(headers))]
    least = [_min_width(headers[i], cols[i], whole[i]) for i in range(len(headers))]
    room = width - _FRAME_PER_COL * len(headers) - _FRAME_FIXED
    if sum(natural) <= room:
        return natural
    if sum(least) > room:
        return None
    widths = list(least)
    spare = room - sum(least)
    # the columns that lack least are made whole first (a key column reads on one line), the rest of
    # the width goes to the longest ones, which wrap between words
    for i in sorted(range(len(widths)), key=lambda k: natural[k] - widths[k]):
        give = min(spare, natural[i] - widths[i])
        widths[i] += give
        spare -= give
    return widths


def _table(title, headers, rows, widths, right, width):
    from rich.table import Table

    # a title wider than the table wraps mid-word (a build path): widen the table when the width allows
    wide_title = len(title) + 2 if title and len(title) + 2 <= width else None
    t = Table(title=title, min_width=wide_title)
    for i, h in enumerate(headers):
        t.add_column(h, width=widths[i], justify="right" if i in right else "left", overflow="fold")
    for r in rows:
        t.add_row(*map(str, r))
    return t


def render(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], width: int,
           right: Sequence[int] = ()) -> list:
    """rich renderables showing the table within `width` columns (see module docstring).

    right: indices of right-aligned (numeric) columns, whose cells are never split."""
    headers = [str(h) for h in headers]
    rows = [[str(c) for c in r] for r in rows]
    whole = [i in right for i in range(len(headers))]
    widths = fit_widths(headers, rows, width, whole)
    if widths is not None:
        return [_table(title, headers, rows, widths, set(right), width)]
    # on its side: fields down, one column per row headed by the row's first cell
    side_headers = [headers[0], *(r[0] for r in rows)]
    side_rows = [[headers[i], *(r[i] for r in rows)] for i in range(1, len(headers))]
    widths = fit_widths(side_headers, side_rows, width)
    if widths is not None:
        return [_table(title, side_headers, side_rows, widths, set(), width)]
    out = []
    for r in rows:  # one field/value table per row
        pairs = [[headers[i], r[i]] for i in range(1, len(headers))]
        widths = fit_widths([headers[0], r[0]], pairs, width) or [max(1, width // 3), max(1, width - width // 3 - 7)]
        out.append(_table(title if not out else None, [headers[0], r[0]], pairs, widths, set(), width))
    return out


def print_table(console, title: str, headers: Sequence[str], rows: Sequence[Sequence[str]],
                right: Sequence[int] = ()) -> None:
    for renderable in render(title, headers, rows, console.width, right):
        console.print(renderable)
