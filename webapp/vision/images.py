"""Decoding untrusted uploaded images: bounded in bytes and pixels, EXIF orientation honoured.

Pillow reads the header first, so the pixel count is checked before anything is decoded (a
small file can claim a huge picture). JPEGs are decoded at reduced size straight from the
DCT coefficients when the caller needs fewer pixels (``max_width``): a 12 MP phone photo
decodes at 1/2 to 1/8 scale for a fraction of the time. Everything happens in memory.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from webapp.vision import cv2

# Magic bytes of the accepted formats (the upload's name and declared type are not trusted).
FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}

MB = 1024 * 1024  # what the visitor reads as "MB": limits are set in MiB

# Even a phone's panorama is rarely wider than 12:1; beyond this ratio, a face shrunk to the
# picture's short side is too small to find.
MAX_ASPECT = 20


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
    data: bytes, limits: ImageLimits | None = None, *, max_width: int | None = None
) -> DecodedImage:
    """Decode an uploaded photo to an upright BGR array, at most ``max_width`` pixels wide
    (upright) when given.

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
    kind = sniff_format(data)
    if kind is None:
        raise UnsupportedImage("Only JPEG, PNG and WebP photos are accepted.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[kind])
            width, height = image.size
            _check_pixels(width, height, limits)
            orientation = image.getexif().get(0x0112, 1)
            sideways = orientation in (5, 6, 7, 8)
            upright = (height, width) if sideways else (width, height)
            _check_shape(*upright)
            if max_width and kind == "JPEG":
                _draft(image, max_width, sideways=sideways)
            image.load()
            image = ImageOps.exif_transpose(image)
            rgb = np.asarray(image.convert("RGB"))
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow's own guard fires at open() for pictures far beyond ours (89 MP and up).
        limit = limits.max_pixels
        if Image.MAX_IMAGE_PIXELS is not None:
            limit = min(limit, Image.MAX_IMAGE_PIXELS)
        raise ImageTooLarge(
            "The photo has too many pixels; the limit is"
            f" {_megapixels(limit, limit=True)} megapixels."
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise CorruptImage(
            f"The photo could not be read ({FORMATS[kind]} data is damaged)."
        ) from error
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    height, width = bgr.shape[:2]
    if max_width and width > max_width:
        size = (max_width, max(1, round(height * max_width / width)))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    return DecodedImage(bgr=bgr, format=FORMATS[kind], width=upright[0], height=upright[1])


def _check_pixels(width: int, height: int, limits: ImageLimits) -> None:
    """Refuse a picture by the size its header claims, before decoding anything."""
    if width < 1 or height < 1:
        raise CorruptImage(f"The photo could not be read (it claims {width}x{height} pixels).")
    pixels = width * height
    if pixels > limits.max_pixels:
        raise ImageTooLarge(
            f"The photo is {width}x{height} pixels ({_megapixels(pixels, limit=False)}"
            f" megapixels); the limit is {_megapixels(limits.max_pixels, limit=True)} megapixels."
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


def _draft(image: Image.Image, max_width: int, *, sideways: bool) -> None:
    """Ask libjpeg for the smallest DCT scale (1/2, 1/4, 1/8) that keeps the upright
    picture at least ``max_width`` wide (stored sideways, that is its stored height)."""
    width, height = image.size
    upright_width = height if sideways else width
    if upright_width <= max_width:
        return
    factor = max_width / upright_width
    image.draft("RGB", (max(1, int(width * factor)), max(1, int(height * factor))))
