"""Decoding untrusted uploaded images: bounded in bytes, pixels and work, EXIF orientation
honoured, any colour mode turned into an ordinary 8-bit picture.

Pillow reads the header first, so the picture's size is checked before anything is decoded
(a small file can claim a huge picture: flat pixels compress to almost nothing). JPEGs are
decoded at reduced size straight from the DCT coefficients when the caller needs fewer
pixels (``max_width``): a 12 MP phone photo decodes at 1/2 to 1/8 scale for a fraction of
the time. PNG and WebP have no such shortcut: every pixel is decoded whatever size is
wanted, so they get a lower pixel limit (:class:`ImageLimits`) and are shrunk right after
decoding, before any copy is made. Everything happens in memory.

Hostile bytes make Pillow raise a handful of exception classes (found by fuzzing, see
``DECODE_ERRORS``); those become :class:`CorruptImage`, anything else is a bug and stays one.
MemoryError is left alone too: within the pixel limits it says the server is short of
memory, not that the photo is bad.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image

from webapp.vision import cv2

# Magic bytes of the accepted formats (the upload's name and declared type are not trusted).
FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
# Image files in folders (import-folders, evaluate) may be more: Pillow names them, with
# the same limits. PPM covers the ORL database's PGM files.
FILE_FORMATS = {**FORMATS, "BMP": "BMP", "PPM": "PGM/PPM", "TIFF": "TIFF", "GIF": "GIF"}

# What Pillow raises on damaged or hostile data: truncated or inconsistent files (OSError,
# including UnidentifiedImageError), broken chunks and headers (SyntaxError, ValueError,
# struct.error), frames that cannot be reached (EOFError).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, struct.error, EOFError)

# Reading EXIF parses a small TIFF structure of its own: a bad header (SyntaxError) or a
# truncated entry (struct.error), and the same as above for good measure.
EXIF_ERRORS = DECODE_ERRORS

MB = 1024 * 1024  # what the visitor reads as "MB": limits are set in MiB

ORIENTATION = 0x0112
# EXIF orientation -> the transposition that makes the picture upright (1: none).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
SIDEWAYS = (5, 6, 7, 8)  # stored turned by a quarter: width and height swap

# Even a phone's panorama is rarely wider than 12:1; beyond this ratio, a face shrunk to the
# picture's short side is too small to find.
MAX_ASPECT = 20

# A progressive JPEG is decoded in scans, each a pass over every block of the picture;
# encoders write about ten. A few bytes repeat a scan, so a small file could ask for
# thousands of passes: refused before decoding.
MAX_JPEG_SCANS = 100


class ImageError(Exception):
    """An upload that cannot be used; ``status`` is the HTTP status it deserves."""

    status = 400


class EmptyImage(ImageError):
    status = 400


class ImageTooLarge(ImageError):
    status = 413


class UnsupportedImage(ImageError):
    status = 415


class CorruptImage(ImageError):
    status = 400


class UnusableImage(ImageError):
    """A picture that decodes but cannot hold a face (a strip a few pixels high)."""

    status = 422


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 15 * MB
    max_pixels: int = 50_000_000  # a 48 MP phone photo passes, a decompression bomb does not
    # PNG and WebP are decoded whole even when a small picture is wanted, and Pillow holds
    # several full-size copies meanwhile: their limit is lower. It costs no real photo:
    # phones write JPEG, a photo saved as PNG reaches max_bytes long before this size (only
    # flat pictures and bombs get here), and the selfie page sends photos 1280 pixels wide.
    max_full_decode_pixels: int = 16_000_000


@dataclass(frozen=True)
class DecodedImage:
    """An upright BGR image and how it relates to the upload as the visitor sees it."""

    bgr: np.ndarray
    format: str
    width: int  # of the upright original, before any reduction
    height: int

    @property
    def scale(self) -> float:
        """Decoded pixels per original pixel (1.0 unless reduced)."""
        return self.bgr.shape[1] / self.width


def size_in_words(count: int) -> str:
    """A photo's size in bytes as the visitor reads it ("15.1 MB"), rounded *up* to a tenth:
    a photo one byte over a limit never reads as within it (see :func:`limit_in_words`)."""
    return f"{-(-count * 10 // MB) / 10:.1f} MB"


def limit_in_words(count: int) -> str:
    """A limit in bytes as the visitor reads it ("15 MB"), rounded *down* to a tenth.

    MB are of 1024 x 1024 bytes, as the limits are set, so a 15 MiB limit reads "15 MB".
    """
    return f"{count * 10 // MB / 10:g} MB"


def _megapixels(pixels: int, *, limit: bool) -> str:
    """Megapixels to a tenth: a limit rounded down, a photo's count rounded up."""
    tenths = pixels // 100_000 if limit else -(-pixels // 100_000)
    return f"{tenths / 10:g}" if limit else f"{tenths / 10:.1f}"


def sniff_format(data: bytes) -> str | None:
    """The accepted format the bytes start with, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def decode_upload(
    data: bytes,
    limits: ImageLimits | None = None,
    *,
    max_width: int | None = None,
    formats: dict[str, str] = FORMATS,
) -> DecodedImage:
    """Decode an uploaded photo to an upright BGR array, at most ``max_width`` pixels wide
    (upright) when given. Animated images give their first frame; transparency shows
    white, as on the page the visitor chose the photo from. ``formats``: the accepted ones
    (uploads: JPEG, PNG, WebP; files in folders: :data:`FILE_FORMATS`).

    :raise ImageError: empty, too many bytes or pixels, not JPEG/PNG/WebP, corrupt, or too
        narrow to hold a face; the message says which, in words for the visitor.
    """
    limits = limits or ImageLimits()
    if not data:
        raise EmptyImage("The upload is empty: choose a photo first.")
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(
            f"The photo is {size_in_words(len(data))}; the limit is"
            f" {limit_in_words(limits.max_bytes)}."
        )
    kind = sniff_format(data) or _other_format(data, formats)
    if kind is None:
        *first, last = formats.values()
        raise UnsupportedImage(f"Only {', '.join(first)} and {last} photos are accepted.")
    name = formats[kind]
    try:
        with warnings.catch_warnings():
            # Pillow's own guard fires at open() for pictures far beyond ours (89 MP and up).
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # A JPEG's EXIF is read at open() for its DPI; see _orientation().
            warnings.simplefilter("ignore", UserWarning)
            image = Image.open(io.BytesIO(data), formats=[kind])
        width, height = image.size
        _check_pixels(width, height, kind, limits)
        if kind == "JPEG":
            _check_scans(data)
        else:
            image.load()  # a PNG's EXIF may come after its pixels
        orientation = _orientation(image)
        sideways = orientation in SIDEWAYS
        upright = (height, width) if sideways else (width, height)
        _check_shape(*upright)
        if max_width and kind == "JPEG":
            _draft(image, max_width, sideways=sideways)
        image.load()
        bgr = _upright_bgr(image, orientation, max_width)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        limit = limits.max_pixels
        if Image.MAX_IMAGE_PIXELS is not None:
            limit = min(limit, Image.MAX_IMAGE_PIXELS)
        raise ImageTooLarge(
            "The photo has too many pixels; the limit is"
            f" {_megapixels(limit, limit=True)} megapixels."
        ) from error
    except DECODE_ERRORS as error:
        raise CorruptImage(f"The photo could not be read ({name} data is damaged).") from error
    return DecodedImage(bgr=bgr, format=name, width=upright[0], height=upright[1])


def _other_format(data: bytes, formats: dict[str, str]) -> str | None:
    """The format Pillow recognises among ``formats`` other than the sniffed ones."""
    others = [kind for kind in formats if kind not in FORMATS]
    if not others:
        return None
    try:
        with Image.open(io.BytesIO(data), formats=others) as image:
            return image.format
    except (*DECODE_ERRORS, Image.DecompressionBombError):
        return None


def _check_pixels(width: int, height: int, kind: str, limits: ImageLimits) -> None:
    """Refuse a picture by the size its header claims, before decoding anything."""
    if width < 1 or height < 1:
        raise CorruptImage(f"The photo could not be read (it claims {width}x{height} pixels).")
    pixels = width * height
    if pixels > limits.max_pixels:
        raise ImageTooLarge(
            f"The photo is {width}x{height} pixels ({_megapixels(pixels, limit=False)}"
            f" megapixels); the limit is {_megapixels(limits.max_pixels, limit=True)} megapixels."
        )
    if kind != "JPEG" and pixels > limits.max_full_decode_pixels:
        raise ImageTooLarge(
            f"The {FILE_FORMATS[kind]} photo is {width}x{height} pixels"
            f" ({_megapixels(pixels, limit=False)} megapixels);"
            f" {'PNG and WebP' if kind in FORMATS else FILE_FORMATS[kind]} photos are"
            f" limited to {_megapixels(limits.max_full_decode_pixels, limit=True)} megapixels."
            " Send it as a JPEG, or smaller."
        )


def _check_shape(width: int, height: int) -> None:
    """Refuse a strip: shrunk to the wanted width it would be a few pixels high, or none."""
    if width > MAX_ASPECT * height:
        raise UnusableImage(
            f"The photo is {width}x{height} pixels: too wide to hold a face"
            f" (at most {MAX_ASPECT} times wider than high)."
        )
    if height > MAX_ASPECT * width:
        raise UnusableImage(
            f"The photo is {width}x{height} pixels: too tall to hold a face"
            f" (at most {MAX_ASPECT} times higher than wide)."
        )


# A marker: 0xFF (any fill 0xFF before it), then a code that is neither a stuffed zero in
# compressed data nor a restart marker (RST0-7, which stay inside a scan). Spelt with a
# plain 0xFF first, the search skips compressed data many times faster than with "\xff+".
_JPEG_MARKER = re.compile(rb"\xff\xff*([^\x00\xff\xd0-\xd7])")


def _jpeg_scans(data: bytes) -> int:
    """How many scans the JPEG's image has, counted as the decoder will meet them: marker by
    marker, skipping each segment's contents, up to the end of the image (EOI), so that
    bytes inside metadata or an embedded thumbnail never count."""
    scans, at = 0, 2
    while (match := _JPEG_MARKER.search(data, at)) is not None:
        marker, at = match[1][0], match.end()
        if marker == 0xD9:  # EOI
            break
        if marker == 0x01:  # TEM: no length
            continue
        if marker == 0xDA:  # SOS: its header, then compressed data up to the next marker
            scans += 1
        if at + 2 > len(data):
            break
        at += struct.unpack_from(">H", data, at)[0]
    return scans


def _check_scans(data: bytes) -> None:
    scans = _jpeg_scans(data)
    if scans > MAX_JPEG_SCANS:
        raise CorruptImage(
            f"The photo could not be read (its JPEG data has {scans} scans; a photo has a"
            " dozen or so). Save it again as an ordinary JPEG."
        )


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1 to 8); 1 when absent, out of range or unreadable: browsers
    show such a photo as stored, and broken metadata does not make the pixels unusable.

    Pillow warns (UserWarning) about each broken entry it skips: silenced, or hostile
    uploads would fill the log. The EXIF is never written back (Pillow's ``exif_transpose``
    does, and fails on entries of unexpected types).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            value = image.getexif().get(ORIENTATION, 1)
    except EXIF_ERRORS:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _draft(image: Image.Image, max_width: int, *, sideways: bool) -> None:
    """Ask libjpeg for the smallest DCT scale (1/2, 1/4, 1/8) that keeps the upright
    picture at least ``max_width`` wide (stored sideways, that is its stored height)."""
    width, height = image.size
    upright_width = height if sideways else width
    if upright_width <= max_width:
        return
    factor = max_width / upright_width
    image.draft("RGB", (max(1, int(width * factor)), max(1, int(height * factor))))


def _upright_bgr(image: Image.Image, orientation: int, max_width: int | None) -> np.ndarray:
    """The decoded picture as an upright 8-bit BGR array, at most ``max_width`` wide.

    The full-size picture is first brought to a plain mode (L, LA, RGB or RGBA: those Pillow
    can shrink) and shrunk by a whole factor at once, so that every later step, and every
    copy, works on the small picture.
    """
    image = _plain_mode(image)
    width, height = image.size
    if orientation in SIDEWAYS:
        width, height = height, width
    if max_width and width >= 2 * max_width:
        image = image.reduce(width // max_width)
    if orientation in UPRIGHT:
        image = image.transpose(UPRIGHT[orientation])
    if image.mode in ("LA", "RGBA"):
        image = _on_white(image)
    pixels = np.asarray(image)
    bgr = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR if image.mode == "L" else cv2.COLOR_RGB2BGR)
    if max_width and bgr.shape[1] > max_width:
        # The height from the picture before reduction (which rounds its edges up).
        size = (max_width, max(1, round(height * max_width / width)))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    return bgr


def _plain_mode(image: Image.Image) -> Image.Image:
    """The picture as L, LA, RGB or RGBA with 8 bits a channel, looking as it should.

    16-bit greys (PNG) keep their top 8 bits: Pillow's own conversion clips every value
    above 255 to white. "I" and "F" (no accepted format yields them) are stretched from their
    darkest to their lightest value. Palettes and single-colour transparency (PNG tRNS)
    become an alpha channel; bilevel becomes grey; CMYK and the rest become RGB.
    """
    mode = image.mode
    has_alpha = "transparency" in image.info
    if mode in ("L", "LA", "RGB", "RGBA") and not has_alpha:
        return image
    if mode.startswith("I;16"):
        return Image.fromarray((np.asarray(image) >> 8).astype(np.uint8))
    if mode in ("I", "F"):
        return Image.fromarray(_stretched(np.asarray(image)))
    if has_alpha or mode in ("PA", "La", "RGBa"):
        return image.convert("RGBA")
    return image.convert("L" if mode == "1" else "RGB")


def _stretched(values: np.ndarray) -> np.ndarray:
    """Values of any range spread over 0..255 (flat pictures come out black)."""
    values = np.nan_to_num(values.astype(np.float64))
    low, high = values.min(), values.max()
    if high <= low:
        return np.zeros(values.shape, np.uint8)
    return np.round((values - low) * (255 / (high - low))).astype(np.uint8)


def _on_white(image: Image.Image) -> Image.Image:
    """A picture with transparency laid on white, as an RGB picture."""
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")
