"""Decoding uploads: formats, limits, EXIF orientation, reduced-size JPEG decoding, shapes,
colour modes, animations, and what the visitor reads when a photo is refused."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFile, PngImagePlugin, WebPImagePlugin

from tests.hostile_uploads import (
    PNG_SIGNATURE,
    encode,
    exif_wrong_tag_types,
    jpeg_many_scans,
    jpeg_with_app1,
    jpeg_with_size,
    orientation_exif,
    png_bomb,
    png_chunk,
    png_header_only,
    png_ihdr,
    png_insert,
    png_raw,
    riff_webp,
    tiff_ifd,
    webp_chunk,
    webp_flat,
)
from webapp.vision import cv2, images
from webapp.vision.faces import FaceDetector
from webapp.vision.images import (
    CorruptImage,
    EmptyImage,
    ImageLimits,
    ImageTooLarge,
    UnsupportedImage,
    UnusableImage,
    decode_upload,
    limit_in_words,
    size_in_words,
)
from webapp.vision.images import _plain_mode as plain_mode

MiB = 1024 * 1024


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


# --- Shapes: a strip is refused in words, never a 500 from resizing to zero rows ------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize(
    "size, words",
    [((8000, 2), "8000x2 pixels: too wide to hold a face"), ((2, 8000), "too tall to hold")],
)
def test_a_strip_is_refused_with_its_size(fmt, size, words):
    data = encode(np.full((size[1], size[0], 3), 200, np.uint8), fmt)
    with pytest.raises(UnusableImage, match=words) as caught:
        decode_upload(data, max_width=640)
    assert caught.value.status == 422


def test_a_strip_is_described_as_the_visitor_sees_it():
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 8000x2, shown turned: 2 wide, 8000 high
    data = encode(np.zeros((2, 8000, 3), np.uint8), "JPEG", exif=exif.tobytes())
    with pytest.raises(UnusableImage, match="2x8000 pixels: too tall"):
        decode_upload(data, max_width=640)


def test_a_panorama_is_still_accepted():
    decoded = decode_upload(encode(np.zeros((100, 2000, 3), np.uint8), "PNG"), max_width=640)
    assert decoded.bgr.shape == (32, 640, 3)


# --- Sizes in words: a photo over the limit never reads as within it -----------------------


@pytest.mark.parametrize(
    "size, limit, message",
    [
        (15 * MiB + 1, 15 * MiB, "The photo is 15.1 MB; the limit is 15 MB."),
        (16 * MiB, 15 * MiB, "The photo is 16.0 MB; the limit is 15 MB."),
        (15 * MiB + 700_000, 15 * MiB + 600_000, "The photo is 15.7 MB; the limit is 15.5 MB."),
        (400_001, 400_000, "The photo is 0.4 MB; the limit is 0.3 MB."),
    ],
)
def test_the_byte_limit_message_is_consistent(size, limit, message):
    with pytest.raises(ImageTooLarge) as caught:
        decode_upload(b"\xff\xd8\xff" + bytes(size - 3), ImageLimits(max_bytes=limit))
    assert str(caught.value) == message


@pytest.mark.parametrize("limit", [15 * MiB, 15 * MiB + 1, 16 * 10**6, 10 * MiB - 1, 999_999])
def test_one_byte_over_any_limit_reads_as_more(limit):
    size, shown = size_in_words(limit + 1), limit_in_words(limit)
    assert float(size.split()[0]) > float(shown.split()[0])


def test_the_pixel_limit_message_is_consistent(astronaut_rgb):
    with pytest.raises(ImageTooLarge) as caught:
        decode_upload(encode(astronaut_rgb, "JPEG"), ImageLimits(max_pixels=512 * 512 - 1))
    assert str(caught.value) == (
        "The photo is 512x512 pixels (0.3 megapixels); the limit is 0.2 megapixels."
    )


# --- Colour modes: every one gives the picture the visitor sees ------------------------------


def grey_of(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("L"))


def mean_difference(decoded, expected_rgb: np.ndarray) -> float:
    return float(np.abs(decoded.bgr[..., ::-1].astype(int) - expected_rgb.astype(int)).mean())


def test_16_bit_grey_png_is_scaled_not_clipped_to_white(astronaut_rgb):
    grey = grey_of(astronaut_rgb)
    data = encode(Image.fromarray(grey.astype(np.uint16) * 257), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    decoded = decode_upload(data)
    assert mean_difference(decoded, np.dstack([grey] * 3)) < 1
    assert len(FaceDetector().detect(decoded.bgr)) == 1


def test_16_bit_colour_png_keeps_its_colours(astronaut_rgb):
    bgr16 = astronaut_rgb[..., ::-1].astype(np.uint16) * 257
    decoded = decode_upload(cv2.imencode(".png", bgr16)[1].tobytes())
    assert mean_difference(decoded, astronaut_rgb) < 1


def transparent_band(shape) -> np.ndarray:
    alpha = np.full(shape[:2], 255, np.uint8)
    alpha[:, :64] = 0
    return alpha


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_transparency_shows_white(astronaut_rgb, fmt):
    rgba = np.dstack([astronaut_rgb, transparent_band(astronaut_rgb.shape)])
    rgba[:, :64, :3] = 0  # what hides under the transparent pixels is not shown
    decoded = decode_upload(
        encode(rgba, fmt, lossless=True) if fmt == "WEBP" else encode(rgba, fmt)
    )
    assert (decoded.bgr[:, :64] == 255).all()
    assert np.abs(decoded.bgr[:, 64:, ::-1].astype(int) - astronaut_rgb[:, 64:]).mean() < 2


def test_grey_with_alpha_shows_white(astronaut_rgb):
    grey = grey_of(astronaut_rgb)
    la = Image.fromarray(np.dstack([grey, transparent_band(grey.shape)]), "LA")
    decoded = decode_upload(encode(la, "PNG"))
    assert (decoded.bgr[:, :64] == 255).all()
    assert np.abs(decoded.bgr[:, 64:, 0].astype(int) - grey[:, 64:]).mean() < 1


def test_a_palette_with_a_transparent_colour_shows_it_white(astronaut_rgb):
    palette = Image.fromarray(astronaut_rgb).quantize(64)
    palette.info["transparency"] = 0
    decoded = decode_upload(encode(palette, "PNG"))
    hidden = np.asarray(palette) == 0
    assert hidden.any()
    assert (decoded.bgr[hidden] == 255).all()
    shown = palette.convert("RGB")
    assert np.abs(decoded.bgr[~hidden][:, ::-1].astype(int) - np.asarray(shown)[~hidden]).max() == 0


@pytest.mark.parametrize("trns", [b"\0\0", bytes(6)], ids=["grey", "rgb"])
def test_a_single_transparent_grey_or_colour_shows_white(astronaut_rgb, trns):
    pixels = grey_of(astronaut_rgb) if len(trns) == 2 else astronaut_rgb
    pixels = pixels.copy()
    pixels[:10] = 0  # the transparent value
    decoded = decode_upload(
        png_raw(pixels, 0 if len(trns) == 2 else 2, 8, png_chunk(b"tRNS", trns))
    )
    assert (decoded.bgr[:10] == 255).all()


def test_cmyk_jpeg_keeps_its_colours(astronaut_rgb):
    data = encode(Image.fromarray(astronaut_rgb).convert("CMYK"), "JPEG", quality=95)
    assert mean_difference(decode_upload(data), astronaut_rgb) < 4


def test_bilevel_png_is_black_and_white(astronaut_rgb):
    data = encode(Image.fromarray(grey_of(astronaut_rgb)).convert("1"), "PNG")
    bgr = decode_upload(data).bgr
    assert set(np.unique(bgr)) == {0, 255}


@pytest.mark.parametrize("mode, values", [("I", (0, 40_000)), ("F", (-1.0, 3.5))])
def test_modes_no_accepted_format_yields_are_stretched(mode, values):
    # Out of reach of uploads today: the conversion is checked on its own.
    image = Image.new(mode, (4, 2), values[0])
    image.putpixel((0, 0), values[1])
    pixels = np.asarray(plain_mode(image))
    assert pixels.dtype == np.uint8 and pixels.max() == 255 and pixels.min() == 0


# --- Animations and EXIF ---------------------------------------------------------------------


def animated(first: np.ndarray, fmt: str, frames: int) -> bytes:
    size = first.shape[1::-1]
    others = [Image.new("RGB", size, (0, 10 * k, 0)) for k in range(1, frames)]
    buffer = io.BytesIO()
    Image.fromarray(first).save(buffer, format=fmt, save_all=True, append_images=others)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_an_animation_gives_its_first_frame_and_decodes_no_other(monkeypatch, astronaut_rgb, fmt):
    data = animated(astronaut_rgb, fmt, frames=20)
    assert Image.open(io.BytesIO(data)).n_frames == 20
    frames = []
    for plugin in (PngImagePlugin.PngImageFile, WebPImagePlugin.WebPImageFile):
        monkeypatch.setattr(plugin, "_seek", spy(plugin._seek, frames))
    decoded = decode_upload(data, max_width=640)
    assert set(frames) <= {0}
    assert mean_difference(decoded, astronaut_rgb) < 8


def spy(method, calls: list):
    def recorded(self, frame, *args, **kwargs):
        calls.append(frame)
        return method(self, frame, *args, **kwargs)

    return recorded


@pytest.mark.parametrize(
    "tiff",
    [
        orientation_exif(0),
        orientation_exif(9),
        orientation_exif(65535),
        orientation_exif(-1, kind=8),
        tiff_ifd([(0x0112, 2, 2, b"6\0")]),
        orientation_exif(6)[:9],
        orientation_exif(6)[:4] + b"\x7f\xff\xff\xf0",
        b"XX" + orientation_exif(6)[2:],
        b"",
    ],
    ids=[
        "0",
        "9",
        "65535",
        "-1",
        "text",
        "truncated",
        "ifd-past-end",
        "order",
        "none",
    ],
)
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_malformed_exif_orientation_leaves_the_photo_as_stored(astronaut_rgb, fmt, tiff):
    plain = decode_upload(encode(astronaut_rgb, fmt, quality=95))
    if fmt == "JPEG":
        data = jpeg_with_app1(encode(astronaut_rgb, fmt, quality=95), b"Exif\0\0" + tiff)
    elif fmt == "PNG":
        data = png_insert(encode(astronaut_rgb, fmt), png_chunk(b"eXIf", tiff))
    else:
        data = encode(astronaut_rgb, fmt, quality=95, exif=tiff)
    decoded = decode_upload(data)
    assert np.abs(decoded.bgr.astype(int) - plain.bgr.astype(int)).mean() < 1


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_orientation_is_honoured_in_every_format(astronaut_rgb, fmt):
    turned = np.ascontiguousarray(np.rot90(astronaut_rgb, 1))  # stored turned 90 CCW
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to show"
    decoded = decode_upload(encode(turned, fmt, exif=exif.tobytes(), quality=95))
    assert mean_difference(decoded, astronaut_rgb) < 4


@pytest.mark.parametrize("name", sorted(exif_wrong_tag_types()))
def test_a_turned_photo_with_odd_exif_tags_is_turned_not_a_500(astronaut_rgb, name):
    turned = np.ascontiguousarray(np.rot90(astronaut_rgb, 1))
    data = jpeg_with_app1(
        encode(turned, "JPEG", quality=95), b"Exif\0\0" + exif_wrong_tag_types()[name]
    )
    assert mean_difference(decode_upload(data), astronaut_rgb) < 4


# --- Pixel bombs: PNG and WebP are decoded whole, so they have a lower limit --------------


def refuse_decoding(monkeypatch):
    """Make any pixel decoding fail the test: refusals must come from the header alone."""

    def load(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    monkeypatch.setattr(WebPImagePlugin.WebPImageFile, "load", load)


@pytest.mark.parametrize(
    "data, words",
    [
        (png_bomb(7000, 7000), "The PNG photo is 7000x7000 pixels (49.0 megapixels)"),
        (webp_flat(7000, 7000), "The WebP photo is 7000x7000 pixels (49.0 megapixels)"),
    ],
    ids=["png", "webp"],
)
def test_a_png_or_webp_bomb_under_the_jpeg_limit_is_refused_unread(monkeypatch, data, words):
    assert len(data) < 50_000  # 49 megapixels in 48 KB (PNG) or 32 bytes (WebP)
    refuse_decoding(monkeypatch)
    with pytest.raises(ImageTooLarge) as caught:
        decode_upload(data, max_width=640)
    assert caught.value.status == 413
    message = str(caught.value)
    assert message.startswith(words)
    assert "PNG and WebP photos are limited to 16 megapixels" in message
    assert "JPEG" in message


def test_png_up_to_the_limit_decodes_and_one_row_more_does_not():
    decoded = decode_upload(png_bomb(4000, 4000), max_width=640)
    assert decoded.bgr.shape == (640, 640, 3)
    assert (decoded.width, decoded.height) == (4000, 4000)
    with pytest.raises(ImageTooLarge, match="4000x4001 pixels"):
        decode_upload(png_bomb(4000, 4001), max_width=640)


def test_a_48_megapixel_jpeg_still_decodes_reduced():
    # The header of a 8000x6000 JPEG (the data is a small picture's: libjpeg pads it).
    data = jpeg_with_size(encode(np.zeros((64, 64, 3), np.uint8), "JPEG"), 8000, 6000)
    decoded = decode_upload(data, max_width=640)
    assert decoded.bgr.shape == (480, 640, 3)
    assert (decoded.width, decoded.height) == (8000, 6000)


def test_a_jpeg_asking_for_thousands_of_passes_is_refused_unread(monkeypatch):
    data = jpeg_many_scans(3000, 4000, 3000)  # 33 KB
    refuse_decoding(monkeypatch)
    with pytest.raises(CorruptImage, match="3010 scans") as caught:
        decode_upload(data, max_width=640)
    assert caught.value.status == 400


def test_scans_are_counted_as_the_decoder_meets_them(astronaut_rgb):
    # Progressive, with scan markers inside its metadata and a second JPEG after its end.
    data = encode(astronaut_rgb, "JPEG", progressive=True)
    data = jpeg_with_app1(data, b"Exif\0\0" + b"\xff\xda\x00\x08" * 500)
    data += jpeg_many_scans(200, 64, 64)
    assert decode_upload(data, max_width=640).bgr.shape == (512, 512, 3)


def plain_scan_count(data: bytes) -> int:
    """The scans of a JPEG counted byte by byte, marker by marker (the slow, plain way)."""
    scans, at, end = 0, 2, len(data)
    while True:
        while at < end and data[at] != 0xFF:
            at += 1
        while at < end and data[at] == 0xFF:  # fill before a marker
            at += 1
        if at >= end:
            return scans
        code, at = data[at], at + 1
        if code == 0x00 or 0xD0 <= code <= 0xD7:  # stuffed zero, restart: inside a scan
            continue
        if code == 0xD9:
            return scans
        if code == 0x01:
            continue
        scans += code == 0xDA
        if at + 2 > end:
            return scans
        at += int.from_bytes(data[at : at + 2], "big")


def test_the_scan_count_reads_markers_as_a_plain_byte_by_byte_reading_does(astronaut_rgb):
    rng = np.random.default_rng(7)
    # Mostly the bytes that matter: fill, stuffing, restarts, scans, the end, short lengths.
    alphabet = np.array([0xFF, 0xFF, 0x00, 0xD0, 0xD7, 0xDA, 0xD9, 0x01, 0xC4, 0x03, 0x7A])
    for _ in range(3000):
        data = b"\xff\xd8" + bytes(rng.choice(alphabet, rng.integers(0, 60)).astype(np.uint8))
        assert images._jpeg_scans(data) == plain_scan_count(data), data.hex()
    progressive = encode(astronaut_rgb, "JPEG", progressive=True)
    assert images._jpeg_scans(progressive) == plain_scan_count(progressive) > 1
    many = jpeg_many_scans(150, 64, 64)
    assert images._jpeg_scans(many) == plain_scan_count(many) > 150


# --- Damaged data: the exception classes Pillow raises become a 400 --------------------------


@pytest.mark.parametrize(
    "data",
    [
        png_header_only(0, 100),
        PNG_SIGNATURE + png_ihdr(8, 8, 8, 2) + png_chunk(b"IEND", b""),
        riff_webp(webp_chunk(b"VP8X", bytes(10))),
        b"\xff\xd8\xff\xd9",
    ],
    ids=["png-zero-width", "png-no-data", "webp-no-frame", "jpeg-no-frame"],
)
def test_damaged_headers_are_corrupt_photos(data):
    with pytest.raises(CorruptImage, match="could not be read") as caught:
        decode_upload(data, max_width=640)
    assert caught.value.status == 400


def test_a_programming_error_is_not_disguised_as_a_damaged_photo(monkeypatch, astronaut_rgb):
    def broken(image):
        raise KeyError("a bug")

    monkeypatch.setattr(images, "_plain_mode", broken)
    with pytest.raises(KeyError):
        decode_upload(encode(astronaut_rgb, "PNG"))
