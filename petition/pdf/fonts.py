"""Text for the delivery PDF: a font for every character, bidi order, HarfBuzz shaping.

Names come in any script. Each character gets the first font of a fallback chain whose cmap
covers it (marks and punctuation stay in the font of the character before them when it can
draw them). Runs in complex scripts (Arabic, Hebrew, Indic, Thai, ...), runs with combining
marks and right-to-left runs are shaped by HarfBuzz; right-to-left text is put in visual order
with python-bidi's implementation of the Unicode bidi algorithm (UAX #9). Shaped glyphs that no
character maps to get private-use code points, as ReportLab's own shaping does, so every run that
is shaped or has a substitute is wrapped in a marked-content span with /ActualText carrying the
characters it stands for: text extraction returns the name, not the glyphs.

Right-to-left text is drawn in logical order: the glyphs of a right-to-left run, and the runs
and pieces of a line mixing directions, go into the content stream in the order of the string,
each moved by TJ offsets to where the visual order puts it, so the page looks the same. MuPDF
(mutool, PyMuPDF) reads a line in content-stream order and recognises right-to-left glyphs drawn
right to left as logical order; drawn in display order, it reverses each right-to-left stretch
on its own, which swapped the two halves of "אורי בקר-ליפשיץ" (the hyphen is not one) and moved
digits and Latin initials. poppler's pdftotext sorts the glyphs of a line by position whatever
their order, then turns right-to-left stretches back with a rule of its own: the direction of
the page is that of most of its strong characters, and digits, "-" and "." are left-to-right.
So no order of glyphs gets a name mixing directions back whole from it where the page leans
the other way (a name in Hebrew with a hyphen, among Latin names): in a bundle such names get
a second, invisible text layer for poppler, written for the page's direction (PopplerLayer).
pdftotext also wraps each right-to-left stretch in U+202B ... U+202C.

In a right-to-left run, a cluster whose glyph's code does not say its characters (a contextual
form of an Arabic letter: the font's code for it is an Arabic presentation form) gets an
ActualText span of its own, so both read the letter itself. One span per cluster: a span of
several characters would have to list them in display order for poppler (it spreads them left
to right over the glyphs' box) and in logical order for MuPDF (it gives them to the glyphs in
stream order). A cluster of several characters whose codes are their compatibility form (the
lam-alef ligature, U+FEFB) keeps its codes, which NFKC turns into the letters.

Characters no font covers (private use, unassigned, controls, scripts without an installed
font) are drawn as U+FFFD and counted: nothing is dropped silently, and no glyph drawn is a
font's .notdef box.

Every font is a TrueType-outline file from a Debian package that `make fonts` installs:
fonts-noto-core, fonts-droid-fallback, fonts-nanum, fonts-ipafont-gothic and fonts-dejavu-core.
ReportLab embeds each as subsets with a ToUnicode map.
"""

import glob
import os
import unicodedata
from itertools import repeat

import uharfbuzz as hb
from bidi import algorithm as bidi_algorithm
from reportlab import rl_config
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

NOTO = "/usr/share/fonts/truetype/noto"
PRIMARY = f"{NOTO}/NotoSans-Regular.ttf"
PRIMARY_BOLD = f"{NOTO}/NotoSans-Bold.ttf"
# Chinese (Han, kana), Korean (Hangul), Japanese (kanji as Japanese draws them, some of Ext B).
CJK = {
    "zh": "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "ko": "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
    "ja": "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
}
CJK_ORDER = {"zh": ("zh", "ja", "ko"), "ja": ("ja", "zh", "ko"), "ko": ("ko", "zh", "ja")}
LAST_RESORT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
# The scripts names are most often written in, before CJK; True where HarfBuzz must shape.
SCRIPTS = [
    ("Arabic", True),
    ("Hebrew", True),
    ("Devanagari", True),
    ("Bengali", True),
    ("Gurmukhi", True),
    ("Gujarati", True),
    ("Oriya", True),
    ("Tamil", True),
    ("Telugu", True),
    ("Kannada", True),
    ("Malayalam", True),
    ("Sinhala", True),
    ("Thai", True),
    ("Lao", True),
    ("Khmer", True),
    ("Myanmar", True),
    ("Georgian", False),
    ("Armenian", False),
    ("Ethiopic", False),
]
# Same coverage as NotoSans, or not a script font.
SKIP_NOTO = {"Display", "Mono", "UI"}

MARKER = "\ufffd"
RTL_TYPES = frozenset(("R", "AL", "RLE", "RLO", "RLI"))
ISOLATES = frozenset(("LRI", "RLI", "FSI", "PDI"))
# Bounds on caches of prepared strings (per process) and of operators (per document): names
# repeat little, cities and countries a lot.
PREPARED_CACHE = 10_000
CELL_CACHE = 20_000


class FontsMissing(RuntimeError):
    """The primary fonts are not installed."""


def is_ignorable(cp):
    """Unicode's default-ignorable code points: invisible, never 'uncovered'."""
    return (
        unicodedata.category(chr(cp)) == "Cf"
        or cp == 0x034F
        or 0x115F <= cp <= 0x1160
        or 0x17B4 <= cp <= 0x17B5
        or 0x180B <= cp <= 0x180F
        or cp in (0x3164, 0xFFA0)
        or 0xFE00 <= cp <= 0xFE0F
        or 0xE0000 <= cp <= 0xE0FFF
    )


def never_covered(category):
    # Private use has no agreed meaning (a font's glyph there is arbitrary); unassigned code
    # points, surrogates and controls have no glyph to show.
    return category in ("Co", "Cn", "Cs", "Cc", "Zl", "Zp")


class Font:
    """One TrueType file: ReportLab's font for embedding, HarfBuzz's for shaping."""

    def __init__(self, name, path, shaped):
        self.name, self.path, self.shaped = name, path, shaped
        self.ttf = TTFont(name, path, asciiReadable=True, shapable=False)
        pdfmetrics.registerFont(self.ttf)
        face = self.ttf.face
        # The cmap as the file has it; private-use codes added below for shaped glyphs are not
        # coverage.
        self.cover = frozenset(code for code, glyph in face.charToGlyph.items() if glyph)
        self.widths = face.charWidths
        self.default_width = face.defaultWidth
        self.scale = 1000 / face.unitsPerEm
        self._hb_font = None
        self._glyph_code = None
        self._next_private = 0xE000

    @property
    def hb_font(self):
        if self._hb_font is None:
            self._hb_font = hb.Font(hb.Face(hb.Blob.from_file_path(self.path)))
        return self._hb_font

    def code_for_glyph(self, gid):
        """A code point that maps to this glyph: its character, or a private-use one."""
        if self._glyph_code is None:
            self._glyph_code = {}
            for glyph, codes in self.ttf.face.glyphToChar.items():
                usable = [c for c in codes if c >= 32 and c != 0xA0]
                if usable:
                    self._glyph_code[glyph] = min(usable)
        code = self._glyph_code.get(gid)
        if code is None:
            face = self.ttf.face
            code = self._next_private
            while code in face.charToGlyph:
                code += 1
            if code > 0xF8FF:
                raise RuntimeError(f"{self.name}: out of private-use code points")
            self._next_private = code + 1
            face.charToGlyph[code] = gid
            face.glyphToChar.setdefault(gid, []).append(code)
            face.charWidths[code] = face.hmetrics[gid][0] * self.scale
            self._glyph_code[gid] = code
        return code

    def width(self, text):
        return sum(map(self.widths.get, map(ord, text), repeat(self.default_width)))


# What a character asks of the fast path (see TextEngine._prepare_fast).
PLAIN, RIGHT_TO_LEFT, NEUTRAL, MARK, CARE = range(5)


class CharTable(dict):
    """character -> (font of the chain, kind), filled on first sight of each character."""

    def __init__(self, engine, bold, hint):
        super().__init__()
        self.engine, self.bold, self.hint = engine, bold, hint

    def __missing__(self, ch):
        cp = ord(ch)
        category = unicodedata.category(ch)
        if is_ignorable(cp) or never_covered(category):
            info = (None, CARE)
        else:
            font = self.engine.font_for(cp, self.bold, self.hint)
            bidi = unicodedata.bidirectional(ch)
            if font is None or bidi == "AN":
                info = (font, CARE)
            elif category[0] == "M":
                info = (font, MARK)
            elif category[0] in "PZS":
                info = (font, NEUTRAL)
            elif bidi in ("R", "AL"):
                info = (font, RIGHT_TO_LEFT)
            else:
                info = (font, PLAIN)
        self[ch] = info
        return info


class Prepared:
    """A string ready to draw: segments in logical order, its width in 1/1000 em."""

    __slots__ = ("segments", "width", "uncovered")

    def __init__(self, segments, width, uncovered):
        # Each segment: (font, codes, glyphs, actual, x, width). glyphs is None for plain text
        # (codes are the characters); for shaped text a tuple of (code, nominal, advance, x_off,
        # y_off, cluster). actual: the ActualText of the segment, or None where the codes say it
        # all. x and width (1/1000 em) place a segment on the line when segments are in logical
        # order; x is None where a segment starts where the one before it ends.
        self.segments = segments
        self.width = width
        self.uncovered = uncovered


def visual_runs(text):
    """[(start, end, rtl)] logical ranges of text in visual order (UAX #9, one line)."""
    # python-bidi's algorithm predates isolates: treat them as the neutrals they act as.
    plain = "".join(" " if unicodedata.bidirectional(ch) in ISOLATES else ch for ch in text)
    storage = bidi_algorithm.get_empty_storage()
    base = bidi_algorithm.get_base_level(plain)
    storage["base_level"] = base
    storage["base_dir"] = ("L", "R")[base]
    bidi_algorithm.get_embedding_levels(plain, storage)
    for i, ch in enumerate(storage["chars"]):
        ch["i"] = i
    bidi_algorithm.explicit_embed_and_overrides(storage)
    bidi_algorithm.resolve_weak_types(storage)
    bidi_algorithm.resolve_neutral_types(storage, False)
    bidi_algorithm.resolve_implicit_levels(storage, False)
    bidi_algorithm.reorder_resolved_levels(storage, False)
    # X9 dropped the boundary neutrals (ZWJ, ZWNJ, embedding controls); they keep the level of
    # the character before them, so Arabic shaping still sees them.
    n = len(plain)
    found = {ch["i"]: ch["level"] for ch in storage["chars"]}
    levels = []
    for i in range(n):
        levels.append(found.get(i, levels[-1] if levels else base))
    order = list(range(n))
    odd = [level for level in levels if level % 2]
    if odd:
        for level in range(max(levels), min(odd) - 1, -1):
            i = 0
            while i < n:
                if levels[order[i]] >= level:
                    j = i
                    while j < n and levels[order[j]] >= level:
                        j += 1
                    order[i:j] = order[i:j][::-1]
                    i = j
                else:
                    i += 1
    runs = []
    for i in order:
        rtl = levels[i] % 2 == 1
        if runs and runs[-1][2] == rtl:
            last = runs[-1]
            if not rtl and last[1] == i:
                last[1] = i + 1
                continue
            if rtl and last[0] == i + 1:
                last[0] = i
                continue
        runs.append([i, i + 1, rtl])
    return [tuple(run) for run in runs]


class TextEngine:
    """Fonts loaded on first need, and strings prepared once per process."""

    def __init__(self):
        # Streams compressed, not also ASCII85-encoded (ReportLab's encoder is pure Python here).
        rl_config.useA85 = 0
        for path in (PRIMARY, PRIMARY_BOLD):
            if not os.path.exists(path):
                raise FontsMissing(f"{path} is missing: apt-get install fonts-noto-core")
        self._loaded = {}
        self._memo = {}
        self._tables = {}
        self._cache = {}
        self.primary = self._load(PRIMARY, False)
        self.bold = self._load(PRIMARY_BOLD, False)
        self.ascii_widths = {c: self.primary.widths[c] for c in range(32, 127)}
        self.ascii_bold = {c: self.bold.widths[c] for c in range(32, 127)}
        scripts = [(f"{NOTO}/NotoSans{name}-Regular.ttf", shaped) for name, shaped in SCRIPTS]
        listed = {path for path, _ in scripts} | {PRIMARY}
        others = []
        for path in sorted(glob.glob(f"{NOTO}/NotoSans*-Regular.ttf")):
            script = os.path.basename(path)[len("NotoSans") : -len("-Regular.ttf")]
            if path not in listed and script not in SKIP_NOTO:
                others.append((path, True))
        self._head = [(PRIMARY, False), *scripts]
        self._tail = [*others, (LAST_RESORT, False)]

    def _load(self, path, shaped):
        if path not in self._loaded:
            font = None
            if os.path.exists(path):
                name = "Bundle-" + os.path.splitext(os.path.basename(path))[0]
                try:
                    font = Font(name, path, shaped)
                except TTFError:
                    font = None  # not TrueType outlines: ReportLab cannot embed it
            self._loaded[path] = font
        return self._loaded[path]

    def _chain(self, bold, hint):
        head = [(PRIMARY_BOLD, False)] if bold else []
        cjk = [(CJK[key], False) for key in CJK_ORDER.get(hint, CJK_ORDER["zh"])]
        for path, shaped in [*head, *self._head, *cjk, *self._tail]:
            font = self._load(path, shaped)
            if font is not None:
                yield font

    def font_for(self, cp, bold=False, hint=None):
        """The first font of the chain that covers the code point, or None."""
        memo = self._memo.setdefault((bold, hint), {})
        try:
            return memo[cp]
        except KeyError:
            pass
        found = None
        for font in self._chain(bold, hint):
            if cp in font.cover:
                found = font
                break
        memo[cp] = found
        return found

    def prepare(self, text, bold=False, hint=None):
        """The Prepared form of a one-line string (cached)."""
        key = (text, bold, hint)
        prepared = self._cache.get(key)
        if prepared is None:
            if len(self._cache) >= PREPARED_CACHE:
                self._cache.clear()
            prepared = self._cache[key] = self._prepare(text, bold, hint)
        return prepared

    def _prepare(self, text, bold, hint):
        primary = self.bold if bold else self.primary
        if text.isascii() and text.isprintable():
            widths = self.ascii_bold if bold else self.ascii_widths
            width = sum(widths[c] for c in text.encode("ascii"))
            return Prepared(((primary, text, None, None, None, None),), width, ())
        if hint is None and max(text) >= "\u1100":
            hint = cjk_hint(text)
        fast = self._prepare_fast(text, bold, hint)
        if fast is not None:
            return fast
        work = []
        fonts = []
        substituted = []
        uncovered = []
        ignorable = []
        previous = None
        for ch in text:
            cp = ord(ch)
            category = unicodedata.category(ch)
            if is_ignorable(cp):
                work.append(ch)
                fonts.append(previous)
                ignorable.append(True)
                substituted.append(False)
                continue
            font = None
            if never_covered(category):
                uncovered.append(ch)
            elif previous is not None and category[0] in "MPZ" and cp in previous.cover:
                # Marks, punctuation and spaces stay with the run they sit in.
                font = previous
            else:
                font = self.font_for(cp, bold, hint)
                if font is None:
                    uncovered.append(ch)
            substituted.append(font is None)
            if font is None:
                ch, font = MARKER, self.primary
            work.append(ch)
            fonts.append(font)
            ignorable.append(False)
            previous = font
        # Leading invisible characters join the first visible run.
        first = next((f for f in fonts if f is not None), primary)
        fonts = [f or first for f in fonts]
        work_text = "".join(work)

        if any(unicodedata.bidirectional(ch) in RTL_TYPES for ch in work_text):
            runs = visual_runs(work_text)
        else:
            runs = [(0, len(work_text), False)]

        segments = []
        width = 0.0
        codepoints = [ord(ch) for ch in work_text]
        mixed = len(runs) > 1 or runs[0][2]
        for start, end, rtl in runs:
            pieces = []
            i = start
            while i < end:
                j = i + 1
                while j < end and fonts[j] is fonts[i]:
                    j += 1
                pieces.append((i, j, fonts[i]))
                i = j
            if rtl:
                pieces.reverse()
            for a, b, font in pieces:
                chunk = work_text[a:b]
                needs_shaping = (
                    rtl
                    or font.shaped
                    or any(unicodedata.category(ch)[0] == "M" for ch in chunk)
                    or any(ignorable[a:b])
                )
                original = text[a:b]
                if not needs_shaping:
                    actual = original if any(substituted[a:b]) else None
                    piece_width = font.width(chunk)
                    segments.append((a, (font, chunk, None, actual, width, piece_width)))
                    width += piece_width
                    continue
                glyphs, advance, missing = self._shape(font, codepoints, a, b, rtl)
                uncovered.extend(work_text[c] for c in missing)
                if not glyphs:
                    continue
                if rtl:
                    for key, segment in rtl_segments(font, glyphs, original, a, width):
                        segments.append((key, segment))
                else:
                    codes = "".join(chr(g[0]) for g in glyphs)
                    segments.append((a, (font, codes, glyphs, original, width, advance)))
                width += advance
        if mixed:
            segments.sort(key=lambda item: item[0])
        return Prepared(tuple(seg for _key, seg in segments), width, tuple(uncovered))

    def _table(self, bold, hint):
        key = (bold, hint)
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = CharTable(self, bold, hint)
        return table

    def _prepare_fast(self, text, bold, hint):
        """One font, one direction (most names): no per-character work beyond a lookup."""
        table = self._table(bold, hint)
        font = None
        rtl = ltr = marks = neutrals = False
        for ch in text:
            found, kind = table[ch]
            if kind in (PLAIN, RIGHT_TO_LEFT):
                if found is not font:
                    if font is not None:
                        return None
                    font = found
                if kind == PLAIN:
                    ltr = True
                else:
                    rtl = True
            elif kind == NEUTRAL:
                neutrals = True
            elif kind == MARK:
                marks = True
            else:
                return None
        if font is None or (rtl and ltr):
            return None
        if (neutrals or marks) and not all(ord(ch) in font.cover for ch in text):
            return None
        if not (rtl or marks or font.shaped):
            return Prepared(((font, text, None, None, None, None),), font.width(text), ())
        codepoints = [ord(ch) for ch in text]
        glyphs, advance, missing = self._shape(font, codepoints, 0, len(text), rtl)
        uncovered = tuple(text[i] for i in missing)
        if rtl:
            segments = tuple(seg for _key, seg in rtl_segments(font, glyphs, text, 0, 0.0))
        else:
            codes = "".join(chr(g[0]) for g in glyphs)
            segments = ((font, codes, glyphs, text, None, None),)
        return Prepared(segments, advance, uncovered)

    def _shape(self, font, codepoints, start, end, rtl):
        buf = hb.Buffer()
        buf.add_codepoints(codepoints, start, end - start)
        buf.direction = "rtl" if rtl else "ltr"
        buf.guess_segment_properties()
        buf.flags = hb.BufferFlags.REMOVE_DEFAULT_IGNORABLES
        hb.shape(font.hb_font, buf)
        scale = font.scale
        glyphs = []
        missing = []
        advance = 0.0
        for info, pos in zip(buf.glyph_infos, buf.glyph_positions, strict=True):
            if info.codepoint == 0:
                # .notdef: never drawn; count the character it stood for.
                missing.append(info.cluster)
                continue
            code = font.code_for_glyph(info.codepoint)
            nominal = font.widths.get(code, font.default_width)
            x_advance = pos.x_advance * scale
            glyphs.append(
                (code, nominal, x_advance, pos.x_offset * scale, pos.y_offset * scale, info.cluster)
            )
            advance += x_advance
        return tuple(glyphs), advance, missing


def cjk_hint(text):
    """Which CJK font to try first: Japanese with kana, Korean with Hangul, else Chinese."""
    for ch in text:
        cp = ord(ch)
        if 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF or 0xFF66 <= cp <= 0xFF9F:
            return "ja"
        if 0xAC00 <= cp <= 0xD7AF or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F:
            return "ko"
    return None


def num(value):
    """A number as PDF operators want it: short, no exponent."""
    if value == int(value):
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")


def actual_text(text):
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


class Writer:
    """PDF text operators for one document: the font subsets are per document."""

    def __init__(self, engine, doc, layered=False):
        self.engine = engine
        self.doc = doc
        self.refs = {}
        self.codes = {}
        self.cells = {}
        self.uncovered = {}
        # layered: names mixing directions get the text layer for poppler (see PopplerLayer);
        # the caller then passes each page's operators through finish_page().
        self.layered = layered
        self.mixed = {}
        self.page_texts = []
        self.pending = False

    def ref(self, font, subset):
        key = (font, subset)
        ref = self.refs.get(key)
        if ref is None:
            ref = self.refs[key] = font.ttf.getSubsetInternalName(subset, self.doc)
        return ref

    def text(self, text, size, bold=False, hint=None):
        """(operators, width in points, uncovered characters) of a string at a size."""
        key = (text, size, bold, hint)
        cell = self.cells.get(key)
        if cell is None:
            if len(self.cells) >= CELL_CACHE:
                self.cells.clear()
            prepared = self.engine.prepare(text, bold, hint)
            ops = self._ops(prepared, num(size))
            cell = self.cells[key] = (ops, prepared.width * size / 1000, prepared.uncovered)
        return cell

    def _ops(self, prepared, size, layered=False):
        """The operators of a prepared string; layered: every segment in a /P span with its
        characters as ActualText, for MuPDF, where poppler reads none (PopplerLayer)."""
        out = []
        pen = 0.0
        for font, codes, glyphs, actual, x, width in prepared.segments:
            tag = "Span"
            if layered:
                tag = "P"
                if actual is None:
                    actual = codes if glyphs is None else "".join(chr(g[0]) for g in glyphs)
            lead = 0.0
            if x is not None:
                # Segments in logical order: move the pen to where this one is seen.
                lead = pen - x
                pen = x + width
                if abs(lead) < 0.01:
                    lead = 0.0
            if actual is not None:
                out.append(f"/{tag}<</ActualText{actual_text(actual)}>>BDC")
            if glyphs is None:
                move = f"{num(round(lead, 3))} " if lead else ""
                if codes.isascii():
                    # asciiReadable: ReportLab keeps printable ASCII at its own codes in subset 0.
                    data = codes.encode().hex()
                    show = f"[{move}<{data}>] TJ" if move else f"<{data}> Tj"
                    out.append(f"{self.ref(font, 0)} {size} Tf {show}")
                else:
                    for subset, data in font.ttf.splitString(codes, self.doc):
                        show = f"[{move}<{data.hex()}>] TJ" if move else f"<{data.hex()}> Tj"
                        out.append(f"{self.ref(font, subset)} {size} Tf {show}")
                        move = ""
            else:
                out.append(self._shaped_ops(font, glyphs, size, lead))
            if actual is not None:
                out.append("EMC")
        return " ".join(out)

    def _encode(self, font, code):
        key = (font, code)
        found = self.codes.get(key)
        if found is None:
            ((subset, data),) = font.ttf.splitString(chr(code), self.doc)
            found = self.codes[key] = (self.ref(font, subset), data.hex())
        return found

    def _shaped_ops(self, font, glyphs, size, lead=0.0):
        """TJ arrays placing each glyph where HarfBuzz put it; rises for vertical offsets."""
        out = []
        items = []
        current_ref = None
        rise = 0.0
        size_value = float(size)
        pending = lead

        def flush():
            if items:
                out.append("[" + " ".join(items) + "] TJ")
                items.clear()

        def adjust(value):
            # TJ numbers move left by value/1000 em; merge with a number just before.
            if abs(value) < 0.01:
                return
            if items and not items[-1].startswith("<"):
                value += float(items.pop())
                if abs(value) < 0.01:
                    return
            items.append(num(round(value, 3)))

        for code, nominal, advance, x_off, y_off, _cluster in glyphs:
            ref, data = self._encode(font, code)
            if ref != current_ref or y_off != rise:
                flush()
                if ref != current_ref:
                    out.append(f"{ref} {size} Tf")
                    current_ref = ref
                if y_off != rise:
                    out.append(f"{num(round(y_off * size_value / 1000, 3))} Ts")
                    rise = y_off
            if pending:
                adjust(pending)
                pending = 0.0
            adjust(-x_off)
            if items and items[-1].startswith("<"):
                items[-1] = items[-1][:-1] + data + ">"
            else:
                items.append(f"<{data}>")
            adjust(x_off + nominal - advance)
        flush()
        if rise:
            out.append("0 Ts")
        return " ".join(out)

    def fitted(self, text, size, bold=False, hint=None, max_width=None, align="left", count=True):
        """(Tm scale, x shift, operators): text squeezed to max_width if longer, and aligned."""
        ops, width, uncovered = self.text(text, size, bold, hint)
        scale = "1"
        if max_width is not None and width > max_width:
            scale = f"{max_width / width:.4f}"
            width = max_width
        shift = -width if align == "right" else -width / 2 if align == "center" else 0.0
        if uncovered and count:
            for ch in uncovered:
                self.uncovered[ch] = self.uncovered.get(ch, 0) + 1
        return scale, shift, ops

    def place(
        self, text, x, y, size, bold=False, hint=None, max_width=None, align="left", count=True
    ):
        """Operators (inside BT/ET) drawing text with its left, right or centre at x."""
        if not self.layered:
            scale, shift, ops = self.fitted(text, size, bold, hint, max_width, align, count)
            return f"{scale} 0 0 1 {x + shift:.2f} {y:.2f} Tm {ops}"
        self.page_texts.append(text)
        mixed = self.mixed.get(text)
        if mixed is None:
            if len(self.mixed) >= CELL_CACHE:
                self.mixed.clear()
            mixed = self.mixed[text] = not text.isascii() and needs_poppler_layer(text)
        scale, shift, ops = self.fitted(text, size, bold, hint, max_width, align, count)
        tm = f"{scale} 0 0 1 {x + shift:.2f} {y:.2f} Tm"
        if not mixed:
            return f"{tm} {ops}"
        self.pending = True
        prepared = self.engine.prepare(text, bold, hint)
        size_value = num(size)
        visible = self._ops(prepared, size_value, layered=True)
        return PopplerLayer(text, tm, visible, prepared.width, size_value, self)

    def finish_page(self, items):
        """A page's text operators with every PopplerLayer written out for the page's direction
        as poppler will see it: that of most of the strong characters drawn on it."""
        if self.pending:
            ltr = page_is_ltr(self.page_texts)
            items = [str(i) if not isinstance(i, PopplerLayer) else i.ops(ltr) for i in items]
        self.page_texts = []
        self.pending = False
        return items

    def ascii(self, text, x, y, size, align="left", bold=False):
        """place() for printable ASCII in the primary font (numbers, dates, labels), uncached."""
        engine = self.engine
        font, widths = (
            (engine.bold, engine.ascii_bold) if bold else (engine.primary, engine.ascii_widths)
        )
        data = text.encode("ascii")
        if align != "left":
            width = sum(widths[c] for c in data) * size / 1000
            x -= width if align == "right" else width / 2
        return f"1 0 0 1 {x:.2f} {y:.2f} Tm {self.ref(font, 0)} {num(size)} Tf <{data.hex()}> Tj"

    def width(self, text, size, bold=False, hint=None):
        return self.engine.prepare(text, bold, hint).width * size / 1000


# How poppler's text extraction (TextOutputDev.cc) classes characters: strong left to right,
# strong right to left, "numbers" (digits, and the separators it counts with them: - . , % ...),
# and everything else (spaces, marks, brackets) neutral.
POPPLER_NUMBERS = frozenset(("EN", "AN", "ES", "ET", "CS"))
LRM, RLM = "\u200e", "\u200f"


def poppler_class(ch):
    kind = unicodedata.bidirectional(ch)
    if kind in ("R", "AL"):
        return "R"
    if kind == "L":
        return "L"
    return "N" if kind in POPPLER_NUMBERS else " "


def needs_poppler_layer(text):
    """A right-to-left name that poppler would not give back whole from the glyphs alone: one
    with left-to-right letters, digits, separators or combining marks beside its letters."""
    classes = {poppler_class(ch) for ch in text}
    if "R" not in classes:
        return False
    return bool(classes & {"L", "N"}) or any(unicodedata.combining(ch) for ch in text)


def page_is_ltr(texts):
    """poppler's primary direction of a page: left to right unless most strong characters
    drawn on it are right to left (TextPage::coalesce counts them)."""
    count = 0
    for text in texts:
        if text.isascii():
            count += sum(1 for c in text if c.isalpha())
            continue
        for ch in text:
            kind = unicodedata.bidirectional(ch)
            if kind == "L":
                count += 1
            elif kind in ("R", "AL"):
                count -= 1
    return count >= 0


def poppler_text(text, ltr):
    """The characters poppler must find, spread left to right over a name, to give it back in
    its logical order on a page of that direction (with invisible LRM or RLM marks between its
    pieces, as pdftotext adds embedding marks of its own).

    pdftotext sorts a line's characters by position, then on a left-to-right page outputs
    each stretch up to a right-to-left character as it stands and each stretch from there up
    to a left-to-right letter or a number reversed; on a right-to-left page the same from the
    line's right end, the roles swapped (TextOutputDev.cc, reorderText). So the pieces of the
    name that poppler will reverse are given reversed, each closed by a mark of the other
    direction so that no neighbouring space or bracket joins it.
    """
    classes = [poppler_class(ch) for ch in text]
    # The pieces poppler reverses: on a left-to-right page, stretches from a right-to-left
    # character to the last one before a left-to-right letter or number; on a right-to-left
    # page, stretches from a letter or number to the last one before a right-to-left character.
    if ltr:
        starts, stops = {"R"}, {"L", "N"}
    else:
        starts, stops = {"L", "N"}, {"R"}
    pieces = []  # (text, reversed?)
    i, n = 0, len(text)
    while i < n:
        if classes[i] in starts:
            j = i
            last = i
            while j < n and classes[j] not in stops:
                if classes[j] in starts:
                    last = j
                j += 1
            pieces.append((text[i : last + 1], True))
            i = last + 1
        else:
            j = i
            while j < n and classes[j] not in starts:
                j += 1
            pieces.append((text[i:j], False))
            i = j
    mark = LRM if ltr else RLM
    out = [mark]
    for piece, flipped in pieces:
        out.append(piece[::-1] + mark if flipped else piece)
    logical = "".join(out)
    # Poppler reads a right-to-left page from the right: the string spread over the name from
    # left to right is the reverse of what it reads.
    return logical if ltr else logical[::-1]


class PopplerLayer:
    """A name mixing directions, drawn twice over: the glyphs people see, and what poppler
    extracts.

    poppler sorts glyphs by position, so no drawing order gets such a name back from it whole
    (see the module's docstring); MuPDF reads the stream order. The two readers also differ in
    which marked content they take ActualText from: poppler only from a /Span tag, MuPDF from
    any tag and, where spans nest, from the innermost (both seen with poppler 22.12 and
    PyMuPDF 1.28). So the visible glyphs sit in a /Span with an empty ActualText (poppler
    takes nothing from them), each segment in a /P whose ActualText is its own characters
    (MuPDF takes them, in the logical order they are drawn in; one ActualText over the whole
    name instead made MuPDF repeat a last letter); then two spaces at the name's two ends in
    a /Span whose ActualText is poppler_text() (poppler spreads it over them) around a /P with
    an empty one (MuPDF takes nothing). mutool (1.21), which reads no ActualText, reads the
    glyphs, as for any other name. The page's direction decides poppler_text(), so the operators are
    written when the page is finished (Writer.finish_page).
    """

    __slots__ = ("text", "tm", "visible", "width", "size", "writer")

    def __init__(self, text, tm, visible, width, size, writer):
        self.text, self.tm, self.visible = text, tm, visible
        self.width, self.size, self.writer = width, size, writer

    def ops(self, ltr):
        writer = self.writer
        space = writer.engine.ascii_widths[32]
        font = f"{writer.ref(writer.engine.primary, 0)} {self.size} Tf"
        empty = "<FEFF>"
        back = num(round(self.width, 3))
        between = num(round(-(self.width - 2 * space), 3))
        return (
            # The glyphs people see, whose /P spans MuPDF reads; poppler takes nothing from them.
            f"{self.tm} /Span<</ActualText{empty}>>BDC {self.visible} EMC"
            # For poppler: its string, spread over two spaces at the name's two ends.
            f" /Span<</ActualText{actual_text(poppler_text(self.text, ltr))}>>BDC"
            f" /P<</ActualText{empty}>>BDC {font} [{back} <20> {between} <20>] TJ EMC EMC"
        )

    def __str__(self):
        return self.ops(True)


def rtl_segments(font, glyphs, original, start, x):
    """[(index in the string, segment)] of a shaped right-to-left run, in logical order.

    glyphs come from HarfBuzz in visual order; original is the run's text (logical order),
    start its index in the string, x where the run begins on the line (1/1000 em).
    """
    pens = []
    pen = 0.0
    for glyph in glyphs:
        pens.append(pen)
        pen += glyph[2]
    # Clusters, first (logical) to last: [first glyph, end glyph, cluster] in visual indices.
    clusters = []
    for i, glyph in enumerate(glyphs):
        if clusters and clusters[-1][2] == glyph[5]:
            clusters[-1][1] = i + 1
        else:
            clusters.append([i, i + 1, glyph[5]])
    clusters.reverse()
    n = len(original)
    # Runs of clusters whose codes say their characters share a segment; a cluster whose codes
    # do not gets a segment of its own with its ActualText (see the module's docstring).
    groups = []
    for k, (i, j, cluster) in enumerate(clusters):
        c0 = cluster - start
        c1 = clusters[k + 1][2] - start if k + 1 < len(clusters) else n
        chars = original[c0:c1]
        codes = "".join(chr(glyphs[g][0]) for g in range(j - 1, i - 1, -1))
        if len(chars) == 1:
            needs = codes != chars
        else:
            needs = unicodedata.normalize("NFKC", codes) != unicodedata.normalize("NFKC", chars)
        if not needs and groups and groups[-1][2] is None:
            groups[-1][0].append((i, j))
        else:
            groups.append([[(i, j)], c0, chars if needs else None])
    out = []
    for spans, c0, actual in groups:
        order = [g for i, j in spans for g in range(j - 1, i - 1, -1)]
        left = min(pens[g] for g in order)
        right = max(pens[g] + glyphs[g][2] for g in order)
        # Drawn in logical order: each glyph's offset takes the pen back to where HarfBuzz
        # placed it, its advance to where the next one (to its left) begins.
        placed = []
        cur = left
        for k, g in enumerate(order):
            code, nominal, _advance, x_off, y_off, cluster = glyphs[g]
            target = pens[g] + x_off
            following = pens[order[k + 1]] if k + 1 < len(order) else right
            placed.append((code, nominal, following - cur, target - cur, y_off, cluster))
            cur = following
        codes = "".join(chr(item[0]) for item in placed)
        segment = (font, codes, tuple(placed), actual, x + left, right - left)
        out.append((start + c0, segment))
    return out
