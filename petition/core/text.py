"""Petition text: Markdown to safe HTML."""

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# html=False makes markdown-it escape raw HTML; nh3 then enforces an allow-list anyway, so a
# rule missed in either one still yields safe output.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def render_markdown(text):
    """Markdown to HTML that is safe to put on the page."""
    html = _md.render(text or "")
    return Markup(nh3.clean(html, link_rel="noopener noreferrer nofollow"))  # noqa: S704 sanitised by nh3
