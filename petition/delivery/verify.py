"""Checking a delivery bundle: the rows it carries against the hash, row and page counts it states.

    python -m petition.delivery.verify BUNDLE.pdf      (no database needed)
    flask delivery verify BUNDLE.pdf                   (also against the delivery's record)

The bundle carries the rows it lists as the attachment rows.tsv, in the canonical form its
summary's SHA-256 is computed over (canonical.py). The checks: that attachment is there; its
SHA-256 equals the one the bundle states (in its metadata and document ID, and printed in the
summary where pdftotext is at hand); its rows run 1..N and N is the stated row count; the page
tree holds the stated number of pages. The file is read through a memory map, object by object
from its cross-reference table, so a bundle of a million rows is checked in little memory.
"""

import hashlib
import mmap
import re
import shutil
import subprocess
import sys
import zlib
from dataclasses import dataclass

from petition.pdf import merge

_ROOT = re.compile(rb"/Root\s+(\d+) 0 R")
_INFO = re.compile(rb"/Info\s+(\d+) 0 R")
_ID = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]+)>")
_OBJ = re.compile(rb"\s*(\d+) 0 obj\b")
_EMBEDDED = re.compile(rb"/EmbeddedFiles\s*<<\s*/Names\s*\[(.*?)\]", re.S)
_NAME_ENTRY = re.compile(rb"\(([^()\\]*)\)\s*(\d+) 0 R")
_EF = re.compile(rb"/EF\s*<<\s*/F\s+(\d+) 0 R")
_LENGTH = re.compile(rb"/Length\s+(\d+)")
_STREAM = re.compile(rb"stream\r?\n")
_COUNT = re.compile(rb"/Type\s*/Pages\b.*?/Count\s+(\d+)", re.S)
_PAGES = re.compile(rb"/Pages\s+(\d+) 0 R")

ROWS = "rows.tsv"


class BundleError(ValueError):
    """The file is not a bundle this service wrote (or is damaged beyond reading)."""


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not checked
    detail: str


class Reader:
    """Objects of a PDF with one classic cross-reference table, read where the table says."""

    def __init__(self, data):
        self.data = data
        try:
            self.offsets, end, _start = merge.xref(data)
        except merge.MergeError as error:
            raise BundleError(str(error)) from None
        self.trailer = data[end : end + 2000]

    def head(self, number, limit=4096):
        """An object's dictionary (up to its stream, if any)."""
        offset = self.offsets.get(number)
        if offset is None or not _OBJ.match(self.data, offset):
            raise BundleError(f"object {number} is not where the table says")
        body = self.data[offset : offset + limit]
        stream = _STREAM.search(body)
        return body[: stream.start()] if stream else body[: body.find(b"endobj")]

    def stream(self, number):
        """(dictionary, offset of the stream data, its length)."""
        offset = self.offsets[number]
        head = self.head(number)
        length = _LENGTH.search(head)
        start = _STREAM.search(self.data, offset + len(head))
        if not length or not start:
            raise BundleError(f"object {number} is not a stream")
        return head, start.end(), int(length.group(1))

    def ref(self, pattern, text, what):
        found = pattern.search(text)
        if not found:
            raise BundleError(f"no {what}")
        return int(found.group(1))


def info_value(info, key):
    found = re.search(rb"/" + key.encode() + rb"\s*\(([^()\\]*)\)", info)
    return found.group(1).decode("ascii") if found else None


def rows_of(reader, number):
    """SHA-256, row count and whether the rows run 1..N, streaming the inflated attachment."""
    _head, start, length = reader.stream(number)
    inflate = zlib.decompressobj()
    digest = hashlib.sha256()
    rows, in_order, tail = 0, True, b""
    for at in range(start, start + length, 1 << 20):
        chunk = inflate.decompress(reader.data[at : min(at + (1 << 20), start + length)])
        digest.update(chunk)
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        for line in lines:
            rows += 1
            if in_order and not line.startswith(b"%d\t" % rows):
                in_order = False
    rest = inflate.flush()
    digest.update(rest)
    if tail + rest:
        in_order = False  # the last row did not end with a line feed
    return digest.hexdigest(), rows, in_order


def printed_hash(path, pages, sha256):
    """Whether the summary pages print the hash (pdftotext, where installed)."""
    tool = shutil.which("pdftotext")
    if tool is None:
        return Check(
            "printed hash", None, "not checked: pdftotext (poppler-utils) is not installed"
        )
    last = str(min(pages, 12))
    out = subprocess.run(  # noqa: S603 the user's own file, our own fixed arguments
        [tool, "-f", "1", "-l", last, str(path), "-"], capture_output=True, timeout=120
    )
    text = re.sub(rb"\s+", b"", out.stdout)
    ok = sha256.encode() in text
    return Check("printed hash", ok, "the summary prints it" if ok else "not in the summary")


def stated(path):
    """What the bundle says of itself: {"sha256", "rows", "pages"}."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        reader = Reader(data)
        info = reader.head(reader.ref(_INFO, reader.trailer, "document information"))
        return {
            "sha256": info_value(info, "PetitionRowsSHA256"),
            "rows": int(info_value(info, "PetitionRows") or -1),
            "pages": int(info_value(info, "PetitionPages") or -1),
        }


def verify(path):
    """The checks of a bundle, in order; BundleError when it cannot be read as one."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        reader = Reader(data)
        catalog = reader.head(reader.ref(_ROOT, reader.trailer, "document catalog"))
        info = reader.head(reader.ref(_INFO, reader.trailer, "document information"))
        stated_hash = info_value(info, "PetitionRowsSHA256")
        stated_rows = info_value(info, "PetitionRows")
        stated_pages = info_value(info, "PetitionPages")
        if not (stated_hash and stated_rows and stated_pages):
            raise BundleError("no bundle metadata (hash, rows, pages): not a delivery bundle")
        checks = []
        names = _EMBEDDED.search(catalog)
        entries = dict(_NAME_ENTRY.findall(names.group(1))) if names else {}
        spec = entries.get(ROWS.encode())
        if spec is None:
            checks.append(Check("attachment", False, f"no {ROWS} attached"))
            return checks
        stream = reader.ref(_EF, reader.head(int(spec)), "embedded file")
        try:
            sha256, rows, in_order = rows_of(reader, stream)
        except zlib.error as error:
            checks.append(Check("attachment", False, f"{ROWS} cannot be inflated: {error}"))
            return checks
        checks.append(Check("attachment", True, f"{ROWS}, {rows:,} rows"))
        document_id = _ID.search(reader.trailer)
        # The document ID is the hash's first half: metadata edited alone shows.
        same_id = bool(document_id) and document_id.group(1).decode().lower() == stated_hash[:32]
        ok = sha256 == stated_hash and same_id
        checks.append(
            Check("hash", ok, sha256 if ok else f"{ROWS} hashes to {sha256}, stated {stated_hash}")
        )
        ok = rows == int(stated_rows) and in_order
        detail = (
            f"{rows:,}"
            if ok
            else f"{rows:,} rows (numbered in order: {in_order}), stated {stated_rows}"
        )
        checks.append(Check("rows", ok, detail))
        pages = int(_COUNT.search(reader.head(reader.ref(_PAGES, catalog, "page tree"))).group(1))
        ok = pages == int(stated_pages)
        checks.append(
            Check("pages", ok, f"{pages:,}" if ok else f"{pages} pages, stated {stated_pages}")
        )
    checks.append(printed_hash(path, pages, stated_hash))
    return checks


def report(checks, out=None):
    """Print the checks; True when none failed."""
    out = out or sys.stdout
    for check in checks:
        word = {True: "ok", False: "FAILED", None: "skipped"}[check.ok]
        out.write(f"{check.name}: {word}: {check.detail}\n")
    return all(check.ok is not False for check in checks)


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m petition.delivery.verify BUNDLE.pdf\n")
        return 2
    try:
        checks = verify(args[0])
    except (BundleError, OSError, ValueError) as error:
        sys.stderr.write(f"not a readable bundle: {error}\n")
        return 1
    return 0 if report(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
