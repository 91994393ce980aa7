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


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 15 * 1024 * 1024
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

    :raise ImageError: empty, too many bytes or pixels, not JPEG/PNG/WebP, or corrupt; the
        message says which, in words for the visitor.
    """
    limits = limits or ImageLimits()
    if not data:
        raise EmptyImage("The upload is empty: choose a photo first.")
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(
            f"The photo is {len(data) / 1e6:.1f} MB; the limit is {limits.max_bytes / 1e6:.0f} MB."
        )
    kind = sniff_format(data)
    if kind is None:
        raise UnsupportedImage("Only JPEG, PNG and WebP photos are accepted.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[kind])
            width, height = image.size
            if width * height > limits.max_pixels:
                raise ImageTooLarge(
                    f"The photo is {width}x{height} pixels; the limit is"
                    f" {limits.max_pixels / 1e6:.0f} megapixels."
                )
            orientation = image.getexif().get(0x0112, 1)
            if max_width and kind == "JPEG":
                _draft(image, max_width, sideways=orientation in (5, 6, 7, 8))
            image.load()
            # Turned in place and converted only when needed: each copy of a big photo costs.
            ImageOps.exif_transpose(image, in_place=True)
            rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow's own guard fires at open() for pictures far beyond ours (89 MP and up).
        raise ImageTooLarge(
            f"The photo has too many pixels; the limit is {limits.max_pixels / 1e6:.0f} megapixels."
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise CorruptImage(
            f"The photo could not be read ({FORMATS[kind]} data is damaged)."
        ) from error
    upright = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    if max_width and rgb.shape[1] > max_width:
        # Shrunk before the channels are swapped: the same pixels (each channel is resized
        # alone), fewer of them to swap.
        factor = max_width / rgb.shape[1]
        rgb = cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    return DecodedImage(bgr=bgr, format=FORMATS[kind], width=upright[0], height=upright[1])


def _draft(image: Image.Image, max_width: int, *, sideways: bool) -> None:
    """Ask libjpeg for the smallest DCT scale (1/2, 1/4, 1/8) that keeps the upright
    picture at least ``max_width`` wide (stored sideways, that is its stored height)."""
    width, height = image.size
    upright_width = height if sideways else width
    if upright_width <= max_width:
        return
    factor = max_width / upright_width
    image.draft("RGB", (max(1, int(width * factor)), max(1, int(height * factor))))
