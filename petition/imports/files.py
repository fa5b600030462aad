"""The CSV file: one pass to hash and check it, then its records one by one."""

import codecs
import csv
import hashlib
import io
import os
import shutil
import tempfile

from petition.imports.report import ImportFileError


def scan(stream, chunk_size=1 << 20):
    """One pass over the bytes: SHA-256, line count, and a UTF-8 check that names the line."""
    digest = hashlib.sha256()
    lines = size = 0
    carry = b""
    last = b""
    while chunk := stream.read(chunk_size):
        digest.update(chunk)
        size += len(chunk)
        last = chunk[-1:]
        data = carry + chunk
        consumed = _decode_check(data, lines, final=False)
        lines += data.count(b"\n", 0, consumed)
        carry = data[consumed:]
    if carry:
        _decode_check(carry, lines, final=True)
    if size and last != b"\n":
        lines += 1
    return digest.hexdigest(), lines, size


def _decode_check(data, lines_before, final):
    try:
        return codecs.utf_8_decode(data, "strict", final)[1]
    except UnicodeDecodeError as exc:
        line = lines_before + data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1].hex().upper()
        raise ImportFileError(
            f"line {line} is not valid UTF-8 (byte 0x{bad}); save the file as UTF-8 CSV"
        ) from None


# The header ("name,email,country,city,postcode,created_at") is about 40 characters; a first
# line far longer is refused before the CSV reader splits it into fields.
MAX_HEADER_CHARS = 4096


def bounded_header(lines, expected):
    """The lines as given, but ImportFileError if the first non-blank one is too long."""
    for number, line in enumerate(lines, 1):
        if line.strip():
            if len(line) > MAX_HEADER_CHARS:
                raise ImportFileError(
                    f"line {number}: the header is longer than {MAX_HEADER_CHARS:,} characters; "
                    f"it must be {expected}"
                )
            yield line
            break
        yield line
    # A plain loop, not `yield from`: closing this generator must not close the file under it.
    for line in lines:
        yield line


def records(stream, expected_header=""):
    """(start line, fields) per CSV record; a record's line is its first physical line."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    lines = bounded_header(text, expected_header)
    try:
        reader = csv.reader(lines)
        end = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield end + 1, exc
                end = reader.line_num
                continue
            start, end = end + 1, reader.line_num
            yield start, fields
    finally:
        lines.close()
        text.detach()


def open_source(source):
    """A seekable binary stream for the source (a path, or a binary file object).

    Returns (stream, owned): an owned stream is for the caller to close.
    """
    if isinstance(source, (str, os.PathLike)):
        return open(source, "rb"), True  # noqa: SIM115 closed by import_csv
    if isinstance(source, io.TextIOBase):
        raise TypeError("import_csv needs a path or a binary stream")
    if source.seekable():
        return source, False
    spooled = tempfile.TemporaryFile()  # noqa: SIM115 closed by import_csv
    shutil.copyfileobj(source, spooled)
    spooled.seek(0)
    return spooled, True
