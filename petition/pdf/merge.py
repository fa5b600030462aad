"""Joining the volumes (PDFs written by ReportLab) into one file, object by object.

qpdf 11.3 (`qpdf --empty --pages ...`, and pikepdf, which is qpdf) keeps every copied object in
memory until it writes: about 18 KB per page, 320 MB for the 18,000 pages of a million
signatures. This joins files streaming instead: each volume is read whole (a volume is
bounded, about a megabyte), its objects are copied with their numbers shifted and their page
objects pointed at one new page tree, and only the page list and the byte offsets stay in
memory. It relies on what ReportLab writes: a classic cross-reference table, every object
"N 0 obj ... endobj", references "N 0 R", and no strings in the dictionaries it copies (page,
font, stream dictionaries); the Catalog, page tree, outline and Info objects of each volume are
dropped. Tests check the result with `qpdf --check`.
"""

import contextlib
import os
import re
from array import array

_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_XREF = re.compile(rb"xref\s+0\s+(\d+)\s+")
_REF = re.compile(rb"(\d+) 0 R")
_TRAILER_REF = re.compile(rb"/(Root|Info)\s+(\d+) 0 R")
_OBJ = re.compile(rb"\s*(\d+) 0 obj\b")
_STREAM = re.compile(rb">>\s*stream\r?\n")
_TYPE = re.compile(rb"/Type\s*/(Catalog|Pages|Outlines)\b")
_KIDS = re.compile(rb"/Kids\s*\[([^\]]*)\]")


class MergeError(ValueError):
    """A volume is not laid out as ReportLab writes PDFs."""


def pdf_string(text):
    # Plain ASCII as a literal, so tools that match names (qpdf --show-attachment) see it as is.
    if text.isascii() and text.isprintable() and not any(ch in text for ch in "()\\"):
        return b"(" + text.encode("ascii") + b")"
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


def xref(data):
    """({object number: byte offset} of the objects in use, where the table ends, where it
    begins) of a PDF with one classic cross-reference table, as ReportLab and Joiner write."""
    end = _STARTXREF.search(data[-64:])
    if not end:
        raise MergeError("no startxref")
    xref_at = int(end.group(1))
    table = _XREF.match(data, xref_at)
    if not table:
        raise MergeError("not a single classic cross-reference table")
    count = int(table.group(1))
    entries = data[table.end() : table.end() + 20 * count]
    offsets = {
        number: int(entries[20 * number : 20 * number + 10])
        for number in range(1, count)
        if entries[20 * number + 17 : 20 * number + 18] == b"n"
    }
    return offsets, table.end() + 20 * count, xref_at


def read_objects(data):
    """{number: body bytes between 'obj' and 'endobj'} and the trailer's Root and Info."""
    by_number, _end, xref_at = xref(data)
    offsets = sorted((offset, number) for number, offset in by_number.items())
    objects = {}
    for i, (offset, number) in enumerate(offsets):
        stop = offsets[i + 1][0] if i + 1 < len(offsets) else xref_at
        header = _OBJ.match(data, offset)
        if not header or int(header.group(1)) != number:
            raise MergeError(f"object {number} is not where the table says")
        last = data.rfind(b"endobj", header.end(), stop)
        if last < 0:
            raise MergeError(f"object {number} has no endobj")
        objects[number] = data[header.end() : last]
    trailer = {key.decode(): int(value) for key, value in _TRAILER_REF.findall(data[xref_at:])}
    return objects, trailer


class Joiner:
    """Write volumes one after another into out; close() writes the page tree and the index."""

    def __init__(self, out, title, creator):
        self.out = out
        self.title = title
        self.creator = creator
        # Byte offset of each object by number (0 for the three written last), the page list.
        self.offsets = array("Q", [0, 0, 0, 0])
        self.kids = array("Q")
        # 1: Catalog, 2: the page tree, 3: Info; the volumes' objects follow.
        self.next_number = 4
        self.position = 0
        self.attached = []  # (name, filespec object number)
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data):
        self.out.write(data)
        self.position += len(data)

    def _object(self, number, body):
        if number < 4:
            self.offsets[number] = self.position
        else:
            assert number == len(self.offsets)
            self.offsets.append(self.position)
        self._write(b"%d 0 obj\n" % number + body + b"\nendobj\n")

    def add(self, path):
        """Copy one volume's pages (in order) and everything they use."""
        with open(path, "rb") as f:
            data = f.read()
        objects, trailer = read_objects(data)
        dropped = {trailer.get("Info"), trailer.get("Root")}
        tree = None
        for number, body in objects.items():
            head = _STREAM.search(body)
            kind = _TYPE.search(body[: head.start() if head else len(body)])
            if kind:
                dropped.add(number)
                if kind.group(1) == b"Pages":
                    if tree is not None:
                        raise MergeError("more than one page tree node")
                    tree = number
        if tree is None:
            raise MergeError("no page tree")
        kids = [int(n) for n in _REF.findall(_KIDS.search(objects[tree]).group(1))]
        mapping = {tree: 2}
        for number in sorted(objects):
            if number not in dropped:
                mapping[number] = self.next_number
                self.next_number += 1

        def renumber(match):
            try:
                return b"%d 0 R" % mapping[int(match.group(1))]
            except KeyError:
                raise MergeError(f"a reference to dropped object {match.group(1)}") from None

        for number in sorted(objects):
            if number in dropped:
                continue
            body = objects[number]
            head = _STREAM.search(body)
            if head:
                body = _REF.sub(renumber, body[: head.start()]) + body[head.start() :]
            else:
                body = _REF.sub(renumber, body)
            self._object(mapping[number], body)
        for kid in kids:
            if kid not in mapping or kid in dropped:
                raise MergeError("the page tree is nested")
            self.kids.append(mapping[kid])
        return len(kids)

    def attach(self, name, compressed, size, mime, description):
        """Embed a file: `compressed` a path to its bytes deflated (zlib), `size` its length
        before. Readers list it as an attachment (qpdf --show-attachment, pikepdf, MuPDF)."""
        stream = self.next_number
        assert stream == len(self.offsets)
        self.offsets.append(self.position)
        subtype = mime.replace("/", "#2F").encode()
        length = os.path.getsize(compressed)
        self._write(
            b"%d 0 obj\n<< /Type /EmbeddedFile /Subtype /%s /Filter /FlateDecode /Length %d "
            b"/Params << /Size %d >> >>\nstream\n" % (stream, subtype, length, size)
        )
        with open(compressed, "rb") as f:
            while chunk := f.read(1 << 20):
                self._write(chunk)
        self._write(b"\nendstream\nendobj\n")
        spec = stream + 1
        self.next_number = spec + 1
        self._object(
            spec,
            b"<< /Type /Filespec /F "
            + pdf_string(name)
            + b" /UF "
            + pdf_string(name)
            + b" /Desc "
            + pdf_string(description)
            + b" /AFRelationship /Data /EF << /F %d 0 R /UF %d 0 R >> >>" % (stream, stream),
        )
        self.attached.append((name, spec))

    def close(self, document_id, info=None):
        """Write the Catalog, page tree, Info (with `info`'s entries), cross-reference table
        and trailer."""
        kids = b" ".join(b"%d 0 R" % n for n in self.kids)
        catalog = b"<< /Type /Catalog /Pages 2 0 R"
        if self.attached:
            names = b" ".join(pdf_string(name) + b" %d 0 R" % spec for name, spec in self.attached)
            specs = b" ".join(b"%d 0 R" % spec for _name, spec in self.attached)
            catalog += b" /Names << /EmbeddedFiles << /Names [ %s ] >> >> /AF [ %s ]" % (
                names,
                specs,
            )
        self._object(1, catalog + b" >>")
        self._object(2, b"<< /Type /Pages /Count %d /Kids [ %s ] >>" % (len(self.kids), kids))
        self._object(
            3,
            b"<< /Title "
            + pdf_string(self.title)
            + b" /Creator "
            + pdf_string(self.creator)
            + b" /Producer "
            + pdf_string(self.creator)
            + b"".join(
                b" /%s " % key.encode() + pdf_string(str(value))
                for key, value in (info or {}).items()
            )
            + b" >>",
        )
        xref_at = self.position
        size = self.next_number
        lines = [b"xref\n0 %d\n" % size, b"0000000000 65535 f \n"]
        for number in range(1, size):
            lines.append(b"%010d 00000 n \n" % self.offsets[number])
        self._write(b"".join(lines))
        self._write(
            b"trailer\n<< /Size %d /Root 1 0 R /Info 3 0 R /ID [ <%s> <%s> ] >>\n"
            % (size, document_id.encode(), document_id.encode())
        )
        self._write(b"startxref\n%d\n%%%%EOF\n" % xref_at)
        return len(self.kids)


def join(paths, out_path, title, creator, document_id, attachments=(), info=None):
    """Join PDFs into out_path, embedding `attachments` ((name, deflated path, size, mime,
    description)); return the page count."""
    try:
        with open(out_path, "wb") as out:
            joiner = Joiner(out, title, creator)
            for path in paths:
                joiner.add(path)
            for attachment in attachments:
                joiner.attach(*attachment)
            return joiner.close(document_id, info)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(out_path)
        raise
