"""A corpus of hostile and unusual uploads: ``hostile_uploads() -> [(name, bytes)]``.

Every item is built here from scikit-image's astronaut (a real face) or from scratch:
deterministic for a given seed, no network, no files. It is meant for every layer that
takes an upload (the decoder, the HTTP endpoints): each item must end in a picture or in a
clear refusal, never in a crash. Names are ``group/detail`` so a failure says what it was.

Groups: valid photos and their truncations and bit flips; pixel bombs (small files that
claim huge pictures); extreme shapes; every other format Pillow writes and plain non-images;
malformed EXIF; unusual colour modes (16-bit, CMYK, palettes, transparency); animations.
"""

from __future__ import annotations

import io
import random
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from functools import cache

import numpy as np
from PIL import Image, features

from webapp.vision import cv2

Upload = tuple[str, bytes]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def hostile_uploads(seed: int = 0) -> list[Upload]:
    """The whole corpus, in a fixed order (names are unique)."""
    rng = random.Random(seed)
    items: list[Upload] = []
    for group in (
        valid_photos,
        lambda: truncated(rng),
        lambda: bit_flipped(rng),
        pixel_bombs,
        extreme_shapes,
        other_formats,
        non_images,
        malformed_exif,
        colour_modes,
        animations,
        byte_limits,
    ):
        items.extend(group())
    names = [name for name, _ in items]
    assert len(names) == len(set(names)), "corpus names must be unique"
    return items


# --- Building blocks ------------------------------------------------------------------------


@cache
def astronaut(size: int = 512) -> np.ndarray:
    """The astronaut (one frontal face) as RGB, ``size`` pixels square."""
    from skimage import data

    rgb = data.astronaut()
    if size == rgb.shape[0]:
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((size, size), Image.Resampling.LANCZOS))


def encode(image: Image.Image | np.ndarray, fmt: str, **options) -> bytes:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def png_ihdr(width: int, height: int, bit_depth: int, colour_type: int, interlace: int = 0):
    body = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, interlace)
    return png_chunk(b"IHDR", body)


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(kind, body) of each chunk of a well-formed PNG."""
    chunks, i = [], len(PNG_SIGNATURE)
    while i + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[i : i + 8])
        chunks.append((kind, data[i + 8 : i + 8 + length]))
        i += 12 + length
    return chunks


def png_insert(data: bytes, chunk: bytes, *, before: bytes = b"IDAT") -> bytes:
    """``chunk`` inserted before the first chunk of kind ``before``."""
    at = data.index(before) - 4
    return data[:at] + chunk + data[at:]


def png_raw(pixels: np.ndarray, colour_type: int, bit_depth: int = 8, extra: bytes = b"") -> bytes:
    """A PNG of ``pixels`` (height x width [x channels], uint8 or uint16 big-endian
    written), filter 0, written by hand: for what Pillow cannot write."""
    height, width = pixels.shape[:2]
    if bit_depth == 16:
        raw = pixels.astype(">u2").reshape(height, -1).view(np.uint8)
    elif bit_depth < 8:
        per_byte = 8 // bit_depth
        padded = np.zeros((height, -(-width // per_byte) * per_byte), np.uint8)
        padded[:, :width] = pixels
        groups = padded.reshape(height, -1, per_byte).astype(np.uint16)
        shifts = np.arange(per_byte - 1, -1, -1) * bit_depth
        raw = (groups << shifts).sum(axis=2).astype(np.uint8)
    else:
        raw = pixels.reshape(height, -1).astype(np.uint8)
    rows = np.hstack([np.zeros((height, 1), np.uint8), raw])
    return (
        PNG_SIGNATURE
        + png_ihdr(width, height, bit_depth, colour_type)
        + extra
        + png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + png_chunk(b"IEND", b"")
    )


def png_interlaced(rgb: np.ndarray) -> bytes:
    """An Adam7-interlaced RGB PNG (Pillow writes none)."""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2)]
    passes.append((0, 1, 1, 2))
    stream = b""
    for x0, y0, dx, dy in passes:
        sub = rgb[y0::dy, x0::dx]
        if sub.size:
            rows = np.hstack([np.zeros((sub.shape[0], 1), np.uint8), sub.reshape(len(sub), -1)])
            stream += rows.tobytes()
    height, width = rgb.shape[:2]
    return (
        PNG_SIGNATURE
        + png_ihdr(width, height, 8, 2, interlace=1)
        + png_chunk(b"IDAT", zlib.compress(stream))
        + png_chunk(b"IEND", b"")
    )


def png_bomb(width: int, height: int, colour_type: int = 0, bit_depth: int = 8) -> bytes:
    """A well-formed PNG of ``width`` x ``height`` black pixels: zeros compress about 1000:1,
    so 49 megapixels fit in 48 KB. Compressed row by row, never held whole."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]
    row = bytes(1 + (width * channels * bit_depth + 7) // 8)
    compressor = zlib.compressobj(9)
    stream = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    extra = png_chunk(b"PLTE", bytes(3)) if colour_type == 3 else b""
    return (
        PNG_SIGNATURE
        + png_ihdr(width, height, bit_depth, colour_type)
        + extra
        + png_chunk(b"IDAT", stream)
        + png_chunk(b"IEND", b"")
    )


def png_header_only(width: int, height: int, colour_type: int = 2) -> bytes:
    """A PNG that claims a size and holds almost no data."""
    return (
        PNG_SIGNATURE
        + png_ihdr(width, height, 8, colour_type)
        + png_chunk(b"IDAT", zlib.compress(bytes(64)))
        + png_chunk(b"IEND", b"")
    )


def riff_webp(*chunks: bytes) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def webp_flat(width: int, height: int, argb: tuple[int, int, int, int] = (255, 90, 60, 40)):
    """A lossless WebP of one colour written bit by bit: with one-symbol prefix codes each
    pixel costs zero bits, so any size fits in about 30 bytes."""
    bits: list[int] = []

    def put(value: int, count: int) -> None:
        bits.extend((value >> k) & 1 for k in range(count))

    put(0x2F, 8)
    put(width - 1, 14)
    put(height - 1, 14)
    put(0, 1)  # alpha unused
    put(0, 3)  # version
    put(0, 3)  # no transform, no colour cache, no meta prefix codes
    alpha, red, green, blue = argb
    for symbol in (green, red, blue, alpha):
        put(0b101, 3)  # simple code, one symbol, 8 bits wide
        put(symbol, 8)
    put(0b0001, 4)  # distance code: simple, one symbol of 1 bit, symbol 0
    data = bytearray((len(bits) + 7) // 8)
    for k, bit in enumerate(bits):
        data[k // 8] |= bit << (k % 8)
    return riff_webp(webp_chunk(b"VP8L", bytes(data)))


def jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each segment of a well-formed JPEG up to EOI; a scan's
    segment runs to the end of its entropy-coded data."""
    segments, i = [], 2
    while i + 1 < len(data):
        marker = data[i + 1]
        if marker == 0xD9:
            segments.append((marker, i, i + 2))
            break
        end = i + 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker == 0xDA:
            while not (
                data[end] == 0xFF and data[end + 1] != 0 and not 0xD0 <= data[end + 1] <= 0xD7
            ):
                end += 1
        segments.append((marker, i, end))
        i = end
    return segments


def jpeg_with_size(data: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header claiming another size (the data stays small)."""
    out = bytearray(data)
    for marker, start, _ in jpeg_segments(data):
        if marker in (0xC0, 0xC1, 0xC2):
            out[start + 5 : start + 9] = struct.pack(">HH", height, width)
    return bytes(out)


def jpeg_many_scans(scans: int, width: int, height: int) -> bytes:
    """A progressive JPEG claiming ``width`` x ``height`` with its last scan repeated: each
    scan is a pass over every block of the picture, for a dozen bytes of file."""
    small = encode(Image.new("RGB", (16, 16), (120, 80, 60)), "JPEG", progressive=True)
    small = jpeg_with_size(small, width, height)
    segments = jpeg_segments(small)
    last_scan = [small[s:e] for marker, s, e in segments if marker == 0xDA][-1]
    eoi = segments[-1][1]
    return small[:eoi] + last_scan * scans + small[eoi:]


def jpeg_with_app1(jpeg: bytes, payload: bytes) -> bytes:
    """The JPEG with an APP1 segment (EXIF) holding ``payload``, right after SOI."""
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def tiff_ifd(entries: list[tuple[int, int, int, bytes]], order: str = ">") -> bytes:
    """A TIFF header and one IFD of (tag, type, count, 4-byte value field) entries."""
    head = (b"MM" if order == ">" else b"II") + struct.pack(order + "HI", 42, 8)
    ifd = struct.pack(order + "H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack(order + "HHI", tag, kind, count) + value.ljust(4, b"\0")[:4]
    return head + ifd + struct.pack(order + "I", 0)


def orientation_exif(value: int, kind: int = 3, count: int = 1, order: str = ">") -> bytes:
    """TIFF bytes of an EXIF block holding only Orientation = ``value`` (type SHORT)."""
    if kind in (3, 8):  # SHORT, SSHORT
        field = struct.pack(order + ("H" if kind == 3 else "h"), value) * min(count, 2)
    else:  # LONG
        field = struct.pack(order + "I", value)
    return tiff_ifd([(0x0112, kind, count, field)], order)


def exif_wrong_tag_types() -> dict[str, bytes]:
    """EXIF blocks saying "rotate 90 CW" (orientation 6) with another tag of a wrong type:
    Model as a fraction, XResolution as text or as a byte."""
    data_at = 8 + 2 + 2 * 12 + 4  # header, entry count, two entries, next-IFD offset
    rational = tiff_ifd([(0x0110, 5, 1, struct.pack(">I", data_at)), (0x0112, 3, 1, b"\0\6")])
    return {
        "model-as-rational": rational + struct.pack(">II", 1, 3),
        "xresolution-as-text": tiff_ifd([(0x0112, 3, 1, b"\0\6"), (0x011A, 2, 4, b"abc\0")]),
        "xresolution-as-byte": tiff_ifd([(0x0112, 3, 1, b"\0\6"), (0x011A, 1, 1, b"\5")]),
    }


def mutations(
    data: bytes, rng: random.Random, count: int, mutate: Callable[[bytearray, int], None]
) -> Iterator[tuple[int, bytes]]:
    """``count`` copies of ``data``, each changed by ``mutate`` at a random offset (past
    the first two bytes, so that the format is still recognised)."""
    for _ in range(count):
        copy = bytearray(data)
        offset = rng.randrange(2, len(data))
        mutate(copy, offset)
        yield offset, bytes(copy)


# --- The groups ------------------------------------------------------------------------------


@cache
def mutation_bases() -> dict[str, bytes]:
    """Small valid photos of the face, in each accepted format and variant."""
    rgb = astronaut(128)
    exif = Image.Exif()
    exif[0x0112] = 6
    return {
        "jpeg": encode(rgb, "JPEG", quality=90),
        "jpeg-progressive": encode(rgb, "JPEG", quality=90, progressive=True),
        "jpeg-exif": encode(rgb, "JPEG", quality=90, exif=exif.tobytes()),
        "png": encode(rgb, "PNG"),
        "png-palette": encode(Image.fromarray(rgb).quantize(64), "PNG"),
        "webp": encode(rgb, "WEBP", quality=80),
        "webp-lossless": encode(rgb, "WEBP", lossless=True),
        "webp-alpha": encode(Image.fromarray(rgb).convert("RGBA"), "WEBP", quality=80),
    }


def valid_photos() -> list[Upload]:
    rgb = astronaut()
    return [
        ("valid/jpeg", encode(rgb, "JPEG", quality=95)),
        ("valid/jpeg-progressive", encode(rgb, "JPEG", quality=90, progressive=True)),
        ("valid/jpeg-444", encode(rgb, "JPEG", quality=90, subsampling=0)),
        ("valid/png", encode(rgb, "PNG")),
        ("valid/png-interlaced", png_interlaced(rgb)),
        ("valid/webp", encode(rgb, "WEBP", quality=85)),
        ("valid/webp-lossless", encode(astronaut(256), "WEBP", lossless=True)),
        ("valid/jpeg-wide-1000x250", encode(np.hstack([astronaut(250)] * 4), "JPEG")),
    ]


def truncated(rng: random.Random) -> list[Upload]:
    items = []
    for base_name, data in mutation_bases().items():
        cuts = {1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 30, 40, 64, 100, 200}
        cuts |= {int(len(data) * fraction) for fraction in (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)}
        cuts |= {len(data) - back for back in (1, 2, 4, 12)}
        cuts.add(rng.randrange(1, len(data)))
        items += [(f"truncated/{base_name}-{cut}", data[:cut]) for cut in sorted(cuts)]
    return items


def bit_flipped(rng: random.Random) -> list[Upload]:
    def flip(copy: bytearray, offset: int) -> None:
        copy[offset] ^= 1 << rng.randrange(8)

    def scramble(copy: bytearray, offset: int) -> None:
        copy[offset : offset + 16] = rng.randbytes(len(copy[offset : offset + 16]))

    items = []
    for base_name, data in mutation_bases().items():
        header = data[: min(len(data), 400)]  # where the structure is: flips there matter most
        for offset, mutated in mutations(header, rng, 12, flip):
            items.append((f"bitflip/{base_name}-header-{offset}", mutated + data[len(header) :]))
        for offset, mutated in mutations(data, rng, 10, flip):
            items.append((f"bitflip/{base_name}-{offset}", mutated))
        for offset, mutated in mutations(data, rng, 4, scramble):
            items.append((f"scrambled/{base_name}-{offset}", mutated))
    # A mutation may hit the same offset twice: names stay unique, contents may repeat.
    return list(dict(items).items())


def pixel_bombs() -> list[Upload]:
    small_jpeg = encode(astronaut(64), "JPEG")
    return [
        ("bomb/png-7000x7000-grey-48KB", png_bomb(7000, 7000)),
        ("bomb/png-7000x7000-rgba", png_bomb(7000, 7000, colour_type=6)),
        ("bomb/png-7100x7100-over-limit", png_bomb(7100, 7100)),
        ("bomb/png-4000x4000-grey", png_bomb(4000, 4000)),
        ("bomb/png-3000x3000-palette", png_bomb(3000, 3000, colour_type=3)),
        ("bomb/png-claims-100000x100000", png_header_only(100_000, 100_000)),
        ("bomb/png-claims-2147483647x1", png_header_only(2**31 - 1, 1)),
        ("bomb/png-claims-4294967295x4294967295", png_header_only(2**32 - 1, 2**32 - 1)),
        ("bomb/png-claims-0x0", png_header_only(0, 0)),
        ("bomb/png-claims-0x100", png_header_only(0, 100)),
        ("bomb/webp-7000x7000-in-32-bytes", webp_flat(7000, 7000)),
        ("bomb/webp-16383x16383", webp_flat(16383, 16383)),
        ("bomb/webp-4000x4000", webp_flat(4000, 4000)),
        ("bomb/webp-640x480-flat", webp_flat(640, 480)),
        ("bomb/jpeg-claims-7000x7000", jpeg_with_size(small_jpeg, 7000, 7000)),
        ("bomb/jpeg-claims-65535x65535", jpeg_with_size(small_jpeg, 65535, 65535)),
        ("bomb/jpeg-claims-0x0", jpeg_with_size(small_jpeg, 0, 0)),
        ("bomb/jpeg-progressive-3000-scans", jpeg_many_scans(3000, 4000, 3000)),
        ("bomb/jpeg-progressive-12-scans", jpeg_many_scans(2, 4000, 3000)),
    ]


def extreme_shapes() -> list[Upload]:
    sizes = [(8000, 2), (2, 8000), (1, 1), (3000, 1), (1, 3000), (641, 1), (1300, 1), (2100, 100)]
    sizes += [(2000, 100), (100, 2000)]
    items = []
    for width, height in sizes:
        picture = Image.new("RGB", (width, height), (200, 150, 120))
        for fmt in ("JPEG", "PNG", "WEBP"):
            items.append((f"shape/{fmt.lower()}-{width}x{height}", encode(picture, fmt)))
    return items


def other_formats() -> list[Upload]:
    """Every format this Pillow writes (each needs the right mode), none of them accepted
    but MPO (JPEG inside)."""
    rgb = Image.fromarray(astronaut(64))
    modes = {"MSP": "1", "XBM": "1", "PALM": "P", "SPIDER": "F", "BLP": "P", "DDS": "RGB"}
    skip = {"BUFR", "GRIB", "HDF5", "WMF", "PNG", "JPEG", "WEBP"}  # stubs, or accepted
    items = []
    Image.init()
    for fmt in sorted(set(Image.SAVE) - skip):
        if fmt == "AVIF" and not features.check("avif"):
            continue
        picture = rgb.convert(modes.get(fmt, "RGB"))
        options = {"sizes": [(64, 64)]} if fmt in ("ICO", "ICNS") else {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # IM's, for one
                items.append((f"format/{fmt.lower()}", encode(picture, fmt, **options)))
        except (OSError, ValueError, KeyError):  # a codec this build lacks
            continue
    items.append(("format/gif-animated", _animated(rgb, "GIF")))
    items.append(("format/tiff-jpeg-compressed", encode(rgb, "TIFF", compression="jpeg")))
    return items


def non_images() -> list[Upload]:
    jpeg = encode(astronaut(64), "JPEG")
    zip_buffer = io.BytesIO()
    with zipfile.ZipFile(zip_buffer, "w") as archive:
        archive.writestr("photo.jpg", jpeg)
    return [
        ("other/empty", b""),
        ("other/one-zero-byte", b"\x00"),
        ("other/one-ff-byte", b"\xff"),
        ("other/text", b"hello, this is not a photo\n"),
        ("other/html", b"<!doctype html><html><body><script>alert(1)</script></body></html>"),
        (
            "other/svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999">'
            b'<circle r="40"/></svg>',
        ),
        ("other/json", b'{"photo": "selfie.jpg"}'),
        ("other/zip-with-a-jpeg", zip_buffer.getvalue()),
        ("other/gzip", zlib.compress(jpeg)),
        ("other/pdf-text", b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF"),
        ("other/elf", b"\x7fELF\x02\x01\x01" + bytes(57)),
        ("other/zeros-1KB", bytes(1024)),
        ("other/random-4KB", random.Random(4).randbytes(4096)),
        ("other/wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)),
        ("other/jpeg-soi-only", b"\xff\xd8"),
        ("other/jpeg-magic-only", b"\xff\xd8\xff"),
        ("other/jpeg-soi-eoi", b"\xff\xd8\xff\xd9"),
        ("other/jpeg-magic-then-html", b"\xff\xd8\xff<html><body>not a photo</body></html>"),
        ("other/png-signature-only", PNG_SIGNATURE),
        ("other/png-signature-then-html", PNG_SIGNATURE + b"<html></html>"),
        ("other/png-no-idat", PNG_SIGNATURE + png_ihdr(8, 8, 8, 2) + png_chunk(b"IEND", b"")),
        ("other/webp-header-only", b"RIFF\x04\x00\x00\x00WEBP"),
        ("other/webp-unknown-chunk", riff_webp(webp_chunk(b"ABCD", bytes(10)))),
        ("other/webp-vp8x-only", riff_webp(webp_chunk(b"VP8X", bytes(10)))),
        ("other/jpeg-then-zip", jpeg + zip_buffer.getvalue()),
        ("other/html-then-jpeg", b"<html></html>" + jpeg),
    ]


def malformed_exif() -> list[Upload]:
    jpeg = encode(astronaut(), "JPEG", quality=90)
    items = []

    def jpeg_exif(name: str, tiff: bytes) -> None:
        items.append((f"exif/jpeg-{name}", jpeg_with_app1(jpeg, b"Exif\0\0" + tiff)))

    for value in (0, 1, 3, 6, 8, 9, 255, 65535):
        jpeg_exif(f"orientation-{value}", orientation_exif(value))
    jpeg_exif("orientation-6-little-endian", orientation_exif(6, order="<"))
    jpeg_exif("orientation-long-6", orientation_exif(6, kind=4))
    jpeg_exif("orientation-signed-minus-1", orientation_exif(-1, kind=8))
    jpeg_exif("orientation-two-values", orientation_exif(6, count=2))
    jpeg_exif("orientation-no-value", orientation_exif(6, count=0))
    jpeg_exif("orientation-ascii", tiff_ifd([(0x0112, 2, 2, b"6\0")]))
    jpeg_exif("orientation-rational", tiff_ifd([(0x0112, 5, 1, struct.pack(">I", 8))]))
    jpeg_exif("orientation-undefined-type", tiff_ifd([(0x0112, 99, 1, b"\0\6")]))
    jpeg_exif("orientation-count-huge", tiff_ifd([(0x0112, 3, 0x7FFFFFFF, struct.pack(">I", 8))]))
    tiff = orientation_exif(6)
    for cut in (2, 4, 7, 9, 12, 20, len(tiff) - 1):
        jpeg_exif(f"truncated-{cut}", tiff[:cut])
    jpeg_exif("empty", b"")
    jpeg_exif("bad-byte-order", b"XX" + tiff[2:])
    jpeg_exif("ifd-offset-past-end", tiff[:4] + struct.pack(">I", 0x7FFFFFF0) + tiff[8:])
    jpeg_exif("ifd-loop", tiff[:-4] + struct.pack(">I", 8))
    jpeg_exif("ifd-count-65535", tiff[:8] + b"\xff\xff" + tiff[10:])
    jpeg_exif(
        "exif-subifd-loop",
        tiff_ifd([(0x0112, 3, 1, b"\0\6"), (0x8769, 4, 1, struct.pack(">I", 8))]),
    )
    jpeg_exif(
        "gps-ifd-past-end",
        tiff_ifd([(0x0112, 3, 1, b"\0\6"), (0x8825, 4, 1, struct.pack(">I", 0xFFFFFF00))]),
    )
    jpeg_exif("random-garbage", random.Random(7).randbytes(200))
    # Turned photos whose other tags have unexpected types (Pillow fails to write them back).
    for name, tiff in exif_wrong_tag_types().items():
        jpeg_exif(f"orientation-6-{name}", tiff)
    items.append(("exif/jpeg-app1-no-exif-header", jpeg_with_app1(jpeg, b"\0" * 40)))
    turned = jpeg_with_app1(jpeg, b"Exif\0\0" + orientation_exif(6))
    items.append(("exif/jpeg-two-exif-blocks", jpeg_with_app1(turned, b"Exif\0\0" + tiff[:9])))

    png = encode(astronaut(), "PNG")
    for name, tiff in [
        ("orientation-6", orientation_exif(6)),
        ("orientation-9", orientation_exif(9)),
        ("truncated", orientation_exif(6)[:9]),
        ("garbage", random.Random(8).randbytes(64)),
    ]:
        items.append((f"exif/png-{name}", png_insert(png, png_chunk(b"eXIf", tiff))))
        after = png_insert(png, png_chunk(b"eXIf", tiff), before=b"IEND")
        items.append((f"exif/png-after-idat-{name}", after))
    for name, tiff in [
        ("orientation-6", orientation_exif(6)),
        ("orientation-0", orientation_exif(0)),
        ("truncated", orientation_exif(6)[:9]),
        ("garbage", random.Random(9).randbytes(64)),
    ]:
        items.append((f"exif/webp-{name}", encode(astronaut(), "WEBP", exif=tiff)))
    return items


def colour_modes() -> list[Upload]:
    rgb = astronaut()
    grey = np.asarray(Image.fromarray(rgb).convert("L"))
    alpha = np.full(grey.shape, 255, np.uint8)
    alpha[:, :64] = 0  # a transparent band on the left
    rgba = np.dstack([rgb, alpha])
    palette = Image.fromarray(rgb).quantize(128)
    palette_transparent = palette.copy()
    palette_transparent.info["transparency"] = 0
    bgr16 = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257
    grey16 = grey.astype(np.uint16) * 257
    return [
        ("mode/png-16bit-grey-I;16", encode(Image.fromarray(grey16), "PNG")),
        ("mode/png-16bit-grey-dark", encode(Image.fromarray(grey16 // 16), "PNG")),
        ("mode/png-16bit-rgb", cv2.imencode(".png", bgr16)[1].tobytes()),
        (
            "mode/png-16bit-rgba",
            cv2.imencode(".png", np.dstack([bgr16, alpha.astype(np.uint16) * 257]))[1].tobytes(),
        ),
        (
            "mode/png-16bit-grey-alpha",
            png_raw(np.dstack([grey16, alpha.astype(np.uint16) * 257]), 4, 16),
        ),
        ("mode/png-16bit-grey-trns", png_raw(grey16, 0, 16, png_chunk(b"tRNS", b"\0\0"))),
        ("mode/png-grey", encode(grey, "PNG")),
        ("mode/png-grey-trns", png_raw(grey, 0, 8, png_chunk(b"tRNS", b"\0\0"))),
        ("mode/png-grey-4bit", png_raw(grey >> 4, 0, 4)),
        ("mode/png-grey-2bit", png_raw(grey >> 6, 0, 2)),
        ("mode/png-grey-alpha", encode(Image.fromarray(np.dstack([grey, alpha]), "LA"), "PNG")),
        ("mode/png-palette", encode(palette, "PNG")),
        ("mode/png-palette-transparent", encode(palette_transparent, "PNG")),
        ("mode/png-palette-4bit", encode(Image.fromarray(rgb).quantize(16), "PNG", bits=4)),
        ("mode/png-bilevel", encode(Image.fromarray(grey).convert("1"), "PNG")),
        ("mode/png-bilevel-trns", png_raw(grey >> 7, 0, 1, png_chunk(b"tRNS", b"\0\0"))),
        ("mode/png-rgba", encode(rgba, "PNG")),
        ("mode/png-rgb-trns", png_raw(rgb, 2, 8, png_chunk(b"tRNS", bytes(6)))),
        ("mode/jpeg-cmyk", encode(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95)),
        ("mode/jpeg-grey", encode(grey, "JPEG", quality=95)),
        ("mode/webp-rgba", encode(rgba, "WEBP", quality=90)),
        ("mode/webp-rgba-lossless", encode(Image.fromarray(rgba), "WEBP", lossless=True)),
    ]


def _animated(first: Image.Image, fmt: str, frames: int = 3, **options) -> bytes:
    shades = [Image.new(first.mode, first.size, (40 * k % 256, 90, 160)) for k in range(frames)]
    buffer = io.BytesIO()
    first.save(buffer, format=fmt, save_all=True, append_images=shades[1:], **options)
    return buffer.getvalue()


def animations() -> list[Upload]:
    face = Image.fromarray(astronaut(256))
    apng = _animated(face, "PNG")
    items = [
        ("animated/png-3-frames", apng),
        ("animated/png-200-frames", _animated(face, "PNG", frames=200)),
        ("animated/png-default-image-not-a-frame", _animated(face, "PNG", default_image=True)),
        ("animated/webp-3-frames", _animated(face, "WEBP")),
        ("animated/webp-200-frames", _animated(face, "WEBP", frames=200)),
    ]
    actl = png_chunks(apng)[1]
    assert actl[0] == b"acTL"
    huge = png_chunk(b"acTL", struct.pack(">II", 2**31 - 1, 0))
    items.append(("animated/png-claims-2g-frames", apng.replace(png_chunk(*actl), huge)))
    for cut in (len(apng) // 2, len(apng) - 20):
        items.append((f"animated/png-truncated-{cut}", apng[:cut]))
    return items


def byte_limits(max_bytes: int = 15 * 1024 * 1024) -> list[Upload]:
    """A valid photo padded (after its end) to exactly the default limit and one byte over."""
    jpeg = encode(astronaut(), "JPEG")
    return [
        ("bytes/jpeg-at-limit", jpeg + bytes(max_bytes - len(jpeg))),
        ("bytes/jpeg-one-byte-over", jpeg + bytes(max_bytes + 1 - len(jpeg))),
    ]


if __name__ == "__main__":  # a summary: python -m tests.hostile_uploads
    corpus = hostile_uploads()
    groups: dict[str, int] = {}
    for name, _ in corpus:
        groups[name.split("/")[0]] = groups.get(name.split("/")[0], 0) + 1
    print(len(corpus), "uploads:", groups)
