"""Images people upload (report-back photos, logos): decoded and re-encoded, never kept as sent.

Pillow reads the picture under a byte and a pixel limit, turns it upright by its EXIF
orientation and writes a fresh JPEG (a logo: a PNG, keeping its transparency) from the pixels
alone: no EXIF (so no GPS position, camera serial or time), no XMP, no ICC profile, no
comment, nothing appended after the image. An activist's phone must not give away where they
live.
"""

import io
import os
import secrets
import warnings
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from petition.core.files import PRIVATE_FILE, private_dir

# Formats decoded at all; anything else (SVG, PDF, HEIC, TIFF with its many codecs) is refused
# before Pillow tries a decoder on it.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")


class UploadError(ValueError):
    """A file that is refused, with the message to show (translated at render)."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class Reencoded:
    image: bytes
    thumbnail: bytes
    width: int
    height: int


def looks_like_svg(data):
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head


def reencode(data, max_bytes, max_pixels, max_side, thumb_side=480, quality=85):
    """The upload as a clean JPEG at most max_side wide or high, and a thumbnail."""
    pixels = flatten(decode(data, max_bytes, max_pixels, PHOTO))
    pixels.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    thumb = pixels.copy()
    thumb.thumbnail((thumb_side, thumb_side), Image.Resampling.LANCZOS)
    return Reencoded(jpeg(pixels, quality), jpeg(thumb, quality), pixels.width, pixels.height)


def reencode_logo(data, max_bytes, max_pixels, max_side):
    """A logo as a clean PNG (transparency kept) at most max_side wide or high: (bytes, w, h)."""
    img = decode(data, max_bytes, max_pixels, LOGO)
    img = img.convert("RGBA" if has_alpha(img) else "RGB")
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    clean = Image.new(img.mode, img.size)
    clean.paste(img)
    out = io.BytesIO()
    clean.save(out, "PNG", optimize=True)
    return out.getvalue(), clean.width, clean.height


# What the refusals call the file: a photo of an event, or an organisation's logo.
PHOTO, LOGO = "photo", "logo"


def decode(data, max_bytes, max_pixels, kind):
    """The upright pixels of an upload, or UploadError; nothing of the file but its pixels."""
    if not data:
        raise UploadError(_l("The file is empty."))
    if len(data) > max_bytes:
        raise UploadError(
            _l(
                "The file is larger than %(limit)s MB.",
                limit=f"{max_bytes / 1_000_000:g}",
            )
        )
    if looks_like_svg(data):
        raise UploadError(
            _l("SVG images are not accepted: please send a JPEG or PNG photo.")
            if kind == PHOTO
            else _l("SVG images are not accepted: please send the logo as a PNG, JPEG or WebP.")
        )
    with warnings.catch_warnings():
        # Pillow only warns below twice its own limit; here any picture over ours is refused.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as img:
                # The size is read from the header, before a single pixel is decoded: a small
                # file that would unpack to gigabytes (a "decompression bomb") stops here.
                if img.width * img.height > max_pixels:
                    raise UploadError(too_many_pixels(max_pixels))
                img.load()
                return ImageOps.exif_transpose(img)
        except UploadError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise UploadError(too_many_pixels(max_pixels)) from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
            raise UploadError(
                _l("This file is not a photo we can read: please send a JPEG or PNG.")
                if kind == PHOTO
                else _l("This file is not an image we can read: please send a PNG, JPEG or WebP.")
            ) from exc


def has_alpha(img):
    return img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)


def too_many_pixels(max_pixels):
    return _l(
        "The picture has too many pixels (at most %(limit)s megapixels).",
        limit=f"{max_pixels / 1_000_000:g}",
    )


def flatten(img):
    """RGB pixels only; transparency laid on white, as a JPEG has none."""
    if has_alpha(img):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def jpeg(img, quality):
    out = io.BytesIO()
    # A new image object carries no info dict from the upload; nothing but pixels is written.
    clean = Image.new("RGB", img.size)
    clean.paste(img)
    clean.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def store(directory, data, suffix=".jpg"):
    """Write the bytes under a random name in directory; returns the name."""
    private_dir(directory)
    name = secrets.token_urlsafe(18) + suffix
    path = os.path.join(directory, name)
    tmp = os.path.join(directory, f".{name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return name


def path_of(directory, name):
    """The stored file of a name we made, or None for anything else (no path tricks)."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or suffix not in ("jpg", "png") or len(stem) != 24:
        return None
    if any(not (c.isascii() and (c.isalnum() or c in "-_")) for c in stem):
        return None
    path = os.path.join(directory, name)
    return path if os.path.isfile(path) else None


def remove(directory, *names):
    for name in names:
        path = path_of(directory, name) if name else None
        if path:
            os.unlink(path)
