"""The SVG badge: count and progress as an image for emails and READMEs."""

from xml.sax.saxutils import escape

WIDTH = 320
HEIGHT = 56
TITLE_CHARS = 44


def render_svg(title, count, count_text, caption, ratio, label):
    """A badge; every text is escaped, the bar is clamped to 0..1."""
    ratio = min(max(ratio, 0.0), 1.0)
    if len(title) > TITLE_CHARS:
        title = title[: TITLE_CHARS - 1].rstrip() + "…"
    fill = round(WIDTH * ratio, 1)
    t, c, cap, lab = (escape(x, {'"': "&quot;"}) for x in (title, count_text, caption, label))
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" \
viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{lab}">
<title>{lab}</title>
<clipPath id="r"><rect width="{WIDTH}" height="{HEIGHT}" rx="6"/></clipPath>
<g clip-path="url(#r)" font-family="Verdana,DejaVu Sans,Noto Sans,sans-serif">
<rect width="{WIDTH}" height="{HEIGHT}" fill="#b0005e"/>
<text x="12" y="18" font-size="11" fill="#ffe3f1">{t}</text>
<text x="12" y="38" font-size="17" font-weight="bold" fill="#fff" \
data-signature-count="{int(count)}">{c}</text>
<text x="{WIDTH - 12}" y="38" font-size="11" fill="#ffe3f1" text-anchor="end">{cap}</text>
<rect y="{HEIGHT - 6}" width="{WIDTH}" height="6" fill="#6d003a"/>
<rect y="{HEIGHT - 6}" width="{fill}" height="6" fill="#ffd24d"/>
</g>
</svg>
"""
