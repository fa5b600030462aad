"""Drawing the bundle with ReportLab: the front matter, and volumes of signature pages.

These functions run in worker processes (see build.py); each draws one file and returns what
it drew. They know ReportLab and the layout, not Flask or the database. Page content is
written as PDF operators through fonts.Writer, which is several times faster than ReportLab's
drawString and lets every run of text carry its font, shaping and ActualText.
"""

import os
import re
import resource
from typing import NamedTuple

from babel.numbers import format_decimal, format_percent
from reportlab.pdfgen.canvas import Canvas

from petition.delivery import layout as L
from petition.pdf.fonts import TextEngine, Writer

_ENGINE = None

# Which CJK font draws a Han character first, by the signer's country.
HINTS = {"JP": "ja", "KR": "ko", "KP": "ko"}
GRAY = "0.35 g"
BLACK = "0 g"
CREATOR = "petition: delivery bundle"
# The rule above a subtotal, from its baseline.
ROW_RULE = 9.5


def engine():
    """The process's text engine (fonts load on first use and stay for the next volume)."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = TextEngine()
    return _ENGINE


def me():
    """This worker and its peak resident memory so far (KiB), for the build's report."""
    return {"pid": os.getpid(), "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def new_canvas(path, title):
    canvas = Canvas(
        path,
        pagesize=(L.PAGE_WIDTH, L.PAGE_HEIGHT),
        pageCompression=1,
        # An embedded TrueType font as the initial one: ReportLab would otherwise set (and
        # list) Helvetica, which is never embedded.
        initialFontName=engine().primary.ttf.fontName,
        initialFontSize=L.ROW_SIZE,
    )
    canvas.setTitle(title)
    canvas.setCreator(CREATOR)
    canvas.setProducer(CREATOR)
    return canvas


def chrome(writer, header, page_number, total_pages):
    """Header (title, delivery) and footer (Page X of Y) of one page: (graphics, text)."""
    right = header["right"]
    right_width = writer.width(right, 8)
    text = [
        GRAY,
        writer.place(
            header["title"],
            L.LEFT,
            L.HEADER_Y,
            8,
            max_width=L.RIGHT - L.LEFT - right_width - 16,
            count=False,
        ),
        writer.place(right, L.RIGHT, L.HEADER_Y, 8, align="right", count=False),
        writer.place(
            header["page"] % {"page": page_number, "pages": total_pages},
            L.PAGE_WIDTH / 2,
            L.FOOTER_Y,
            8,
            align="center",
            count=False,
        ),
        BLACK,
    ]
    graphics = [f"0.7 G 0.5 w {L.LEFT} {L.HEADER_RULE_Y} m {L.RIGHT} {L.HEADER_RULE_Y} l S 0 G"]
    return graphics, text


def emit_page(canvas, writer, graphics, text):
    text = writer.finish_page(text)
    canvas.addLiteral(" ".join(graphics) + "\nBT\n" + "\n".join(text) + "\nET")
    canvas.showPage()


# --- the signature list ------------------------------------------------------------------


def render_volume(task):
    """Draw a volume of list pages to task["path"]; return pages and uncovered characters.

    task: path, header, first_page (its page number), total_pages, pages (layout blocks),
    countries ([(code, name, count)] by index), rows ([(name, city, date)] in order), words
    and language (words.py: the frame's labels, and how its numbers are written).
    """
    canvas = new_canvas(task["path"], task["header"]["title"])
    writer = Writer(engine(), canvas._doc, layered=True)
    countries = task["countries"]
    rows = iter(task["rows"])
    number = task["first_page"]
    for page in task["pages"]:
        graphics, text = chrome(writer, task["header"], number, task["total_pages"])
        draw_list_page(writer, page, rows, countries, graphics, text, task)
        emit_page(canvas, writer, graphics, text)
        number += 1
    if next(rows, None) is not None:
        raise RuntimeError("more rows than the layout placed")
    canvas.save()
    return {
        "path": task["path"],
        "pages": len(task["pages"]),
        "uncovered": writer.uncovered,
        **me(),
    }


def draw_list_page(writer, page, rows, countries, graphics, text, task):
    words, language = task["words"], task["language"]
    unit = 0
    place = writer.place
    ascii_text = writer.ascii
    size = L.ROW_SIZE
    name_x, name_w = L.NAME
    city_x, city_w = L.CITY
    country_x, country_w = L.COUNTRY
    for block in page:
        code, country_name, country_count = countries[block.country]
        if isinstance(block, L.Heading):
            title = (
                words["continued"] % {"country": country_name} if block.continued else country_name
            )
            text.append(place(title, L.LEFT, L.baseline(unit) - 1, 11, bold=True))
            y = L.baseline(unit + 1)
            text.append(GRAY)
            for label, x, align in (
                ("no", L.SEQ_RIGHT, "right"),
                ("name", name_x, "left"),
                ("city", city_x, "left"),
                ("country", country_x, "left"),
                ("date", L.DATE_RIGHT, "right"),
            ):
                text.append(place(words[label], x, y, 7.5, align=align, count=False))
            text.append(BLACK)
            rule = y - 3.5
            graphics.append(f"0.7 G 0.4 w {L.LEFT} {rule:.2f} m {L.RIGHT} {rule:.2f} l S 0 G")
            unit += L.HEADING_UNITS
        elif isinstance(block, L.Rows):
            hint = HINTS.get(code)
            scale, _, country_ops = writer.fitted(country_name, size, max_width=country_w)
            country_tm = f"{scale} 0 0 1 {country_x:.2f} "
            for seq in range(block.first_seq, block.first_seq + block.count):
                name, city, date = next(rows)
                y = L.baseline(unit)
                text.append(ascii_text(str(seq), L.SEQ_RIGHT, y, size, align="right"))
                text.append(place(name, name_x, y, size, hint=hint, max_width=name_w))
                if city:
                    text.append(place(city, city_x, y, size, hint=hint, max_width=city_w))
                text.append(f"{country_tm}{y:.2f} Tm {country_ops}")
                text.append(ascii_text(date, L.DATE_RIGHT, y, size, align="right"))
                unit += 1
        else:
            y = L.baseline(unit)
            rule = y + ROW_RULE
            graphics.append(f"0.7 G 0.4 w {name_x} {rule:.2f} m {L.RIGHT} {rule:.2f} l S 0 G")
            label = words["subtotal"] % {"country": country_name}
            text.append(place(label, name_x, y, size, bold=True, max_width=300))
            count = format_decimal(country_count, locale=language)
            text.append(place(count, L.DATE_RIGHT, y, size, align="right", bold=True, count=False))
            unit += L.SUBTOTAL_UNITS + L.GAP_UNITS


# --- cover letter and summary --------------------------------------------------------------


class Flow:
    """Lines placed top to bottom across pages; the same spec always gives the same pages."""

    def __init__(self):
        self.pages = [[]]
        self.y = L.BODY_TOP

    def line(self, height, cells, rule=False):
        if self.y - height < L.BODY_BOTTOM:
            self.break_page()
        self.pages[-1].append((self.y, height, cells, rule))
        self.y -= height

    def space(self, height):
        if self.y != L.BODY_TOP:
            self.y = max(self.y - height, L.BODY_BOTTOM)

    def break_page(self):
        if self.pages[-1]:
            self.pages.append([])
        self.y = L.BODY_TOP


def wrap(text, size, width, bold=False):
    """Greedy line breaking at spaces; a word longer than the width breaks anywhere."""
    eng = engine()

    def fits(candidate):
        return eng.prepare(candidate, bold).width * size / 1000 <= width

    lines = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if fits(candidate):
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        while not fits(word):
            cut = len(word) - 1
            while cut > 1 and not fits(word[:cut]):
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines or [""]


BODY_SIZE = 10.5
BODY_LEADING = 15.0


def paragraph(
    flow, text, size=BODY_SIZE, bold=False, indent=0.0, leading=None, after=6.0, rtl=False
):
    """Wrapped lines; a right-to-left language's start at the right margin."""
    leading = leading or size * 1.43
    for line in wrap(text, size, L.RIGHT - L.LEFT - indent, bold):
        if rtl:
            flow.line(leading, [(line, L.RIGHT - indent, size, bold, "right", None)])
        else:
            flow.line(leading, [(line, L.LEFT + indent, size, bold, "left", None)])
    flow.space(after)


def heading(flow, text, size=13.0, rtl=False):
    flow.space(8)
    if flow.y - 3 * BODY_LEADING < L.BODY_BOTTOM:
        flow.break_page()  # keep a heading with what follows
    paragraph(flow, text, size=size, bold=True, after=4, rtl=rtl)


def pair(flow, label, value, label_width=165.0, size=BODY_SIZE, rtl=False):
    """A label and its value, the value wrapping in its own column (mirrored right to left)."""
    lines = wrap(value, size, L.RIGHT - L.LEFT - label_width)
    for i, line in enumerate(lines):
        if rtl:
            cells = [(line, L.RIGHT - label_width, size, False, "right", None)]
            if i == 0:
                cells.append((label, L.RIGHT, BODY_SIZE, True, "right", label_width - 8))
        else:
            cells = [(line, L.LEFT + label_width, size, False, "left", None)]
            if i == 0:
                cells.append((label, L.LEFT, BODY_SIZE, True, "left", label_width - 8))
        flow.line(BODY_LEADING, cells)


_MD_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_MD_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def markdown_blocks(text):
    """Markdown-ish text as (kind, text) blocks: 'heading', 'item' or 'paragraph'."""
    blocks = []
    current = []

    def close():
        if current:
            blocks.append(("paragraph", " ".join(current)))
            current.clear()

    for raw in text.replace("\r\n", "\n").split("\n"):
        line = _MD_EMPHASIS.sub(r"\2", _MD_LINK.sub(r"\1 (\2)", raw.strip()))
        if not line:
            close()
        elif line.startswith("#"):
            close()
            blocks.append(("heading", line.lstrip("#").strip()))
        elif _MD_ITEM.match(raw):
            close()
            marker = raw.strip().split()[0]
            bullet = marker if marker[0].isdigit() else "\u2022"
            blocks.append(("item", bullet + " " + _MD_ITEM.sub("", line, count=1)))
        else:
            current.append(line)
    close()
    return blocks


def front_flow(spec):
    """The cover letters (one per language chosen) and the summary, as lines on pages."""
    flow = Flow()
    w = spec["words"]
    rtl = spec["rtl"]

    def num(value):
        return format_decimal(value, locale=spec["language"])

    for letter in spec["letters"]:
        flow.break_page()
        paragraph(flow, letter["date"], after=14, rtl=letter["rtl"])
        pair(flow, letter["labels"]["to"], spec["target"], rtl=letter["rtl"])
        pair(flow, letter["labels"]["petition"], letter["title"], rtl=letter["rtl"])
        flow.space(18)
        previous = None
        for kind, text in markdown_blocks(letter["text"]):
            if previous == "item" and kind != "item":
                flow.space(6)
            previous = kind
            if kind == "heading":
                heading(flow, text, size=12, rtl=letter["rtl"])
            elif kind == "item":
                paragraph(flow, text, indent=14, after=2, rtl=letter["rtl"])
            else:
                paragraph(flow, text, after=8, rtl=letter["rtl"])

    flow.break_page()
    paragraph(flow, w["summary"], size=18, bold=True, after=10, rtl=rtl)
    pair(flow, w["petition"], spec["title"], rtl=rtl)
    pair(flow, w["addressed_to"], spec["target"], rtl=rtl)
    pair(
        flow,
        w["delivery"],
        w["delivery_value"] % {"number": spec["number"], "date": spec["date"]},
        rtl=rtl,
    )
    covers = w["since"] % {"number": spec["since"]} if spec["since"] else w["all"]
    pair(flow, w["contents"], covers, rtl=rtl)
    pair(flow, w["in_delivery"], num(spec["rows"]), rtl=rtl)
    pair(flow, w["countries"], num(len(spec["countries"])), rtl=rtl)
    dated = w["dated_value"] % {"first": spec["first_date"], "last": spec["last_date"]}
    pair(flow, w["dated"], dated, rtl=rtl)
    total = num(spec["petition_total"])
    if spec["offline"]:
        total = w["with_offline"] % {"total": total, "offline": num(spec["offline"])}
    pair(flow, w["total"], total, rtl=rtl)

    heading(flow, w["verification"], rtl=rtl)
    pair(flow, w["rows"], num(spec["rows"]), rtl=rtl)
    pair(flow, "SHA-256", spec["sha256"], size=9.0, rtl=rtl)
    flow.space(4)
    paragraph(flow, w["canonical"], size=9.5, rtl=rtl)
    paragraph(flow, w["how_to_verify"], size=9.5, rtl=rtl)

    heading(flow, w["milestones"], rtl=rtl)
    if spec["milestones"]:
        for count_label, label, date in spec["milestones"]:
            pair(flow, count_label, w["reached"] % {"label": label, "date": date}, rtl=rtl)
    else:
        paragraph(flow, w["none_yet"], rtl=rtl)

    heading(flow, w["by_country"], rtl=rtl)
    ranked = sorted(spec["countries"], key=lambda c: (-c[2], spec["order"].index(c[0])))
    right = L.RIGHT - 70
    flow.line(
        BODY_LEADING,
        [
            (w["country"], L.LEFT, 8.5, True, "left", None),
            (w["signatures"], right, 8.5, True, "right", None),
            (w["share"], L.RIGHT, 8.5, True, "right", None),
        ],
        rule=True,
    )
    for _code, name, count in ranked:
        share = (
            format_percent(count / spec["rows"], "#,##0.0%", locale=spec["language"])
            if spec["rows"]
            else ""
        )
        flow.line(
            14.0,
            [
                (name, L.LEFT, 10, False, "left", right - L.LEFT - 80),
                (num(count), right, 10, False, "right", None),
                (share, L.RIGHT, 10, False, "right", None),
            ],
        )
    if spec["endorsers"]:
        endorsers_page(flow, spec["endorsers"], spec["endorsed"], rtl)
    return flow


LOGO_BOX = 36.0
ENTRY_HEIGHT = 46.0


def endorsers_page(flow, endorsers, title, rtl):
    """A page (or more) of the endorsing organisations: logo, name in any script, country and
    website, in the order they were approved."""
    flow.break_page()
    paragraph(flow, title, size=18, bold=True, after=10, rtl=rtl)
    with_logos = any(e["logo"] for e in endorsers)
    indent = LOGO_BOX + 12 if with_logos else 0.0
    text_width = L.RIGHT - L.LEFT - indent
    for e in endorsers:
        if flow.y - ENTRY_HEIGHT < L.BODY_BOTTOM:
            flow.break_page()
        x, align = (L.RIGHT - indent, "right") if rtl else (L.LEFT + indent, "left")
        first = [(e["name"], x, 11.5, True, align, text_width)]
        # The name's baseline near the logo's middle, the country and website below it.
        if e["logo"]:
            width, height = e["logo_size"]
            scale = LOGO_BOX / max(width, height, 1)
            w, h = width * scale, height * scale
            left = L.RIGHT - LOGO_BOX if rtl else L.LEFT
            # Centred in its box, the box's top at the line's top.
            first.append(Logo(e["logo"], left + (LOGO_BOX - w) / 2, (LOGO_BOX - h) / 2, w, h))
        flow.line(20.0, first)
        detail = " · ".join(part for part in (e["country"], e["domain"]) if part)
        flow.line(
            ENTRY_HEIGHT - 20.0, [(detail, x, 9.0, False, align, text_width)] if detail else []
        )


class Logo(NamedTuple):
    """An image cell of a Flow line, its top `drop` points below the line's top."""

    path: str
    x: float
    drop: float
    width: float
    height: float


def front_pages(spec):
    """How many pages the cover letter and summary take (the hash is fixed-width)."""
    return {"pages": len(front_flow(spec).pages), **me()}


def render_front(task):
    """Draw the cover letter and summary to task["path"]; return pages and uncovered."""
    spec = task["spec"]
    flow = front_flow(spec)
    canvas = new_canvas(task["path"], task["header"]["title"])
    writer = Writer(engine(), canvas._doc, layered=True)
    for number, lines in enumerate(flow.pages, start=1):
        graphics, text = chrome(writer, task["header"], number, task["total_pages"])
        for top, height, cells, rule in lines:
            y = top - height * 0.74
            for cell in cells:
                if isinstance(cell, Logo):
                    bottom = top - cell.drop - cell.height
                    canvas.drawImage(
                        cell.path, cell.x, bottom, cell.width, cell.height, mask="auto"
                    )
                    continue
                content, x, size, bold, align, max_width = cell
                if content:
                    text.append(
                        writer.place(
                            content, x, y, size, bold=bold, align=align, max_width=max_width
                        )
                    )
            if rule:
                line_y = top - height - 1
                graphics.append(
                    f"0.7 G 0.4 w {L.LEFT} {line_y:.2f} m {L.RIGHT} {line_y:.2f} l S 0 G"
                )
        emit_page(canvas, writer, graphics, text)
    canvas.save()
    return {"path": task["path"], "pages": len(flow.pages), "uncovered": writer.uncovered, **me()}
