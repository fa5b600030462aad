"""Page geometry and pagination of the signature list, computed before anything is drawn.

Every row has the same height and every block (a country's heading, its rows, its subtotal)
a whole number of row units, so where pages break follows from the per-country counts alone.
That is what lets worker processes draw volumes of pages independently and still print
"Page X of Y" with the right Y.
"""

from typing import NamedTuple

from reportlab.lib.pagesizes import A4

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 40.0
LEFT, RIGHT = MARGIN, PAGE_WIDTH - MARGIN
HEADER_Y = PAGE_HEIGHT - 30
HEADER_RULE_Y = PAGE_HEIGHT - 36
FOOTER_Y = 26.0
BODY_TOP = PAGE_HEIGHT - 50
BODY_BOTTOM = 44.0

ROW_HEIGHT = 13.0
ROW_SIZE = 9.0
UNITS_PER_PAGE = int((BODY_TOP - BODY_BOTTOM) // ROW_HEIGHT)
# A country starts with its name and the column labels; a continued one repeats them.
HEADING_UNITS = 2
SUBTOTAL_UNITS = 1
GAP_UNITS = 1

# Columns of a signature row: (left edge, width).
SEQ_RIGHT = LEFT + 42
NAME = (LEFT + 50, 190.0)
CITY = (LEFT + 248, 118.0)
COUNTRY = (LEFT + 374, 80.0)
DATE_RIGHT = RIGHT


class Heading(NamedTuple):
    country: int
    continued: bool


class Rows(NamedTuple):
    country: int
    first_seq: int
    count: int


class Subtotal(NamedTuple):
    country: int


class Volume(NamedTuple):
    """Consecutive pages drawn by one worker: page_index counts from the first list page."""

    page_index: int
    pages: list
    first_seq: int
    rows: int


def baseline(unit):
    """The text baseline of the row unit (0 at the top of the body)."""
    return BODY_TOP - (unit + 1) * ROW_HEIGHT + 3.5


def paginate(counts, units_per_page=UNITS_PER_PAGE):
    """Pages (lists of blocks) for countries in bundle order, given their row counts.

    A generator: the pages of a million rows are made as the volumes need them.
    """
    if units_per_page < HEADING_UNITS + SUBTOTAL_UNITS + 1:
        raise ValueError("a page must hold a heading, a row and a subtotal")
    page = []
    used = 0
    seq = 1
    for index, count in enumerate(counts):
        if used and used + HEADING_UNITS + 1 > units_per_page:
            yield page
            page, used = [], 0
        page.append(Heading(index, False))
        used += HEADING_UNITS
        left = count
        while left:
            room = units_per_page - used
            if room <= 0:
                yield page
                page, used = [Heading(index, True)], HEADING_UNITS
                room = units_per_page - used
            take = min(left, room)
            page.append(Rows(index, seq, take))
            seq += take
            left -= take
            used += take
        if used + SUBTOTAL_UNITS > units_per_page:
            yield page
            page, used = [Heading(index, True)], HEADING_UNITS
        page.append(Subtotal(index))
        used += SUBTOTAL_UNITS
        # The gap before the next country is not carried over to a new page.
        used = min(used + GAP_UNITS, units_per_page)
    if page:
        yield page


def count_pages(counts, units_per_page=UNITS_PER_PAGE):
    return sum(1 for _page in paginate(counts, units_per_page))


def page_rows(page):
    return sum(block.count for block in page if isinstance(block, Rows))


def volumes(pages, volume_rows):
    """Split pages into runs of at least volume_rows rows (the last may hold fewer)."""
    start = 0
    first_seq = 1
    run = []
    rows = 0
    for page in pages:
        run.append(page)
        rows += page_rows(page)
        if rows >= volume_rows:
            yield Volume(start, run, first_seq, rows)
            start += len(run)
            first_seq += rows
            run, rows = [], 0
    if run:
        yield Volume(start, run, first_seq, rows)
