"""The printable poster of an event (A4 or US Letter): slogan, title, time, place, QR code.

Text goes through the bundle's font engine (petition/pdf/fonts.py), so a title in any script
prints with embedded fonts and extracts as text; the QR code is drawn as vector squares
(segno's module matrix), sharp at any printer's resolution.
"""

import functools
import io

import segno
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.pdfgen.canvas import Canvas

from petition.pdf.fonts import TextEngine, Writer

SIZES = {"a4": A4, "letter": LETTER}
MARGIN = 48.0
CREATOR = "petition: event poster"


@functools.cache
def engine():
    return TextEngine()


def wrap(text, size, width, bold=False):
    """Greedy line breaking at spaces; a word longer than the width is squeezed, not cut."""
    eng = engine()
    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if not current or eng.prepare(candidate, bold).width * size / 1000 <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def poster_pdf(slogan, title, when, place, url, size="a4", lines_below=()):
    """The poster as PDF bytes. `when` and `place` are already in the event's language."""
    page_width, page_height = SIZES[size]
    out = io.BytesIO()
    canvas = Canvas(
        out,
        pagesize=(page_width, page_height),
        pageCompression=1,
        # An embedded TrueType font as the initial one: ReportLab would otherwise list an
        # unembedded Helvetica.
        initialFontName=engine().primary.ttf.fontName,
        initialFontSize=12,
    )
    canvas.setTitle(title)
    canvas.setCreator(CREATOR)
    canvas.setProducer(CREATOR)
    writer = Writer(engine(), canvas._doc)
    width = page_width - 2 * MARGIN
    centre = page_width / 2
    text = []
    y = page_height - MARGIN - 40

    def block(value, size, bold=False, gap=1.25, colour="0 g"):
        nonlocal y
        text.append(colour)
        for line in wrap(value, size, width, bold):
            text.append(
                writer.place(line, centre, y, size, bold=bold, max_width=width, align="center")
            )
            y -= size * gap
        y -= size * 0.4

    if slogan:
        block(slogan, 40, bold=True, colour="0.69 0 0.37 rg")
    block(title, 28, bold=True)
    block(when, 18)
    for line in place:
        block(line, 16)
    for line in lines_below:
        block(line, 12, colour="0.3 g")

    qr = segno.make(url, error="m")
    matrix = qr.matrix
    modules = len(matrix) + 8  # the quiet zone of four modules a side
    side = min(220.0, y - MARGIN - 40)
    cell = side / modules
    left = centre - side / 2
    bottom = MARGIN + 30
    squares = []
    for row_index, row in enumerate(matrix):
        for col_index, dark in enumerate(row):
            if dark:
                x = left + (col_index + 4) * cell
                top = bottom + side - (row_index + 4) * cell
                squares.append(f"{x:.2f} {top - cell:.2f} {cell:.2f} {cell:.2f} re")
    graphics = ["0 g", *squares, "f"]
    text.append("0.3 g")
    text.append(writer.place(url, centre, MARGIN + 12, 11, max_width=width, align="center"))
    canvas.addLiteral(" ".join(graphics) + "\nBT\n" + "\n".join(text) + "\nET")
    canvas.showPage()
    canvas.save()
    return out.getvalue()
