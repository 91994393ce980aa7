"""Decoding uploads: formats, limits, EXIF orientation, reduced-size JPEG decoding."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from webapp.vision.faces import FaceDetector
from webapp.vision.images import (
    CorruptImage,
    EmptyImage,
    ImageLimits,
    ImageTooLarge,
    UnsupportedImage,
    decode_upload,
)


def encode(rgb: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def astronaut_rgb() -> np.ndarray:
    from skimage import data

    return data.astronaut()


@pytest.mark.parametrize("fmt, name", [("JPEG", "JPEG"), ("PNG", "PNG"), ("WEBP", "WebP")])
def test_accepted_formats_decode_to_bgr(astronaut_rgb, fmt, name):
    decoded = decode_upload(
        encode(astronaut_rgb, fmt, quality=95) if fmt != "PNG" else encode(astronaut_rgb, fmt)
    )
    assert decoded.format == name
    assert decoded.bgr.shape == (512, 512, 3)
    # BGR order: the astronaut's red flag patch must come out red in channel 2.
    assert np.abs(decoded.bgr[..., ::-1].astype(int) - astronaut_rgb).mean() < 8


def test_exif_rotated_photo_comes_out_upright_and_its_face_is_found(astronaut_rgb):
    # A phone stores the sensor's pixels turned and says "rotate 90 CW" (orientation 6).
    turned = np.rot90(astronaut_rgb, 1).copy()
    exif = Image.Exif()
    exif[0x0112] = 6
    decoded = decode_upload(encode(turned, "JPEG", quality=95, exif=exif.tobytes()))
    assert (decoded.width, decoded.height) == (512, 512)
    upright = decode_upload(encode(astronaut_rgb, "JPEG", quality=95))
    assert np.abs(decoded.bgr.astype(int) - upright.bgr.astype(int)).mean() < 4
    assert len(FaceDetector().detect(decoded.bgr)) == 1


def test_exif_orientation_swaps_width_and_height(astronaut_rgb):
    wide = np.ascontiguousarray(astronaut_rgb[:256, :, :])  # 512 wide, 256 high
    exif = Image.Exif()
    exif[0x0112] = 8
    decoded = decode_upload(encode(wide, "JPEG", exif=exif.tobytes()))
    assert (decoded.width, decoded.height) == (256, 512)
    assert decoded.bgr.shape[:2] == (512, 256)


def test_large_jpeg_is_decoded_at_reduced_size(astronaut_rgb):
    big = np.asarray(Image.fromarray(astronaut_rgb).resize((4000, 3000)))
    decoded = decode_upload(encode(big, "JPEG", quality=90), max_width=800)
    assert decoded.bgr.shape[:2] == (600, 800)
    assert (decoded.width, decoded.height) == (4000, 3000)
    assert decoded.scale == pytest.approx(0.2)


def test_reduced_decoding_of_a_sideways_photo_keeps_the_upright_width(astronaut_rgb):
    stored = np.asarray(Image.fromarray(astronaut_rgb).resize((4000, 3000)))
    exif = Image.Exif()
    exif[0x0112] = 6  # upright, the picture is 3000 wide and 4000 high
    decoded = decode_upload(encode(stored, "JPEG", exif=exif.tobytes()), max_width=640)
    assert (decoded.width, decoded.height) == (3000, 4000)
    assert decoded.bgr.shape[:2] == (853, 640)


@pytest.mark.parametrize(
    "data, error, words",
    [
        (b"", EmptyImage, "empty"),
        (b"GIF89a" + b"\x00" * 100, UnsupportedImage, "JPEG, PNG and WebP"),
        (b"%PDF-1.4 hello", UnsupportedImage, "JPEG, PNG and WebP"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 50, CorruptImage, "could not be read"),
    ],
)
def test_unusable_uploads_get_a_clear_error(data, error, words):
    with pytest.raises(error, match=words):
        decode_upload(data)


def test_truncated_png_is_corrupt(astronaut_rgb):
    data = encode(astronaut_rgb, "PNG")
    with pytest.raises(CorruptImage) as caught:
        decode_upload(data[: len(data) // 2])
    assert caught.value.status == 400


def test_byte_and_pixel_limits(astronaut_rgb):
    data = encode(astronaut_rgb, "PNG")
    with pytest.raises(ImageTooLarge, match="MB") as caught:
        decode_upload(data, ImageLimits(max_bytes=len(data) - 1))
    assert caught.value.status == 413
    with pytest.raises(ImageTooLarge, match="512x512 pixels"):
        decode_upload(data, ImageLimits(max_pixels=512 * 512 - 1))


def test_a_decompression_bomb_is_refused_before_decoding():
    # 20000 x 20000 black pixels compress to a few hundred kB.
    bomb = encode(np.zeros((20000, 20000), np.uint8), "PNG", optimize=False)
    assert len(bomb) < 2_000_000
    with pytest.raises(ImageTooLarge, match="megapixels"):
        decode_upload(bomb)
