"""The hostile corpus (tests/hostile_uploads.py) against the decoder: every upload ends in a
usable picture or in a refusal the visitor can read, never in another exception (a 500).

Part 1: ``decode_upload`` as the selfie page and ``POST /api/score`` call it.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.hostile_uploads import hostile_uploads
from webapp.vision.images import DecodedImage, ImageError, ImageLimits, decode_upload

CORPUS = hostile_uploads()
SELFIE_WIDTH = 640
REFUSAL_STATUSES = {400, 413, 415, 422}


def outcome(data: bytes) -> DecodedImage | ImageError:
    try:
        return decode_upload(data, ImageLimits(), max_width=SELFIE_WIDTH)
    except ImageError as error:
        return error


def test_the_corpus_is_large_and_varied():
    assert len(CORPUS) >= 300
    groups = {name.split("/")[0] for name, _ in CORPUS}
    assert {"truncated", "bitflip", "bomb", "shape", "format", "exif", "mode", "animated"} <= groups


@pytest.mark.parametrize("name, data", CORPUS, ids=[name for name, _ in CORPUS])
def test_every_upload_gives_a_picture_or_a_clear_refusal(name, data):
    result = outcome(data)
    if isinstance(result, ImageError):
        assert result.status in REFUSAL_STATUSES
        assert str(result).strip() and str(result)[-1] in ".!", str(result)
        return
    bgr = result.bgr
    assert bgr.dtype == np.uint8 and bgr.ndim == 3 and bgr.shape[2] == 3
    assert bgr.shape[0] > 0 and 0 < bgr.shape[1] <= SELFIE_WIDTH
    assert result.width >= bgr.shape[1] and result.height >= 1


def by_group(*prefixes: str) -> list[tuple[str, bytes]]:
    return [(name, data) for name, data in CORPUS if name.startswith(prefixes)]


@pytest.mark.parametrize(
    "name, data",
    by_group("valid/", "mode/", "animated/png-3", "animated/webp", "exif/"),
)
def test_valid_pictures_in_any_mode_and_with_any_metadata_decode(name, data):
    result = outcome(data)
    assert isinstance(result, DecodedImage), f"{name}: {result}"
    if name != "mode/png-bilevel-trns":  # black is its transparent colour: all white
        assert result.bgr.std() > 2  # a picture, not a flat field


@pytest.mark.parametrize("name, data", by_group("format/", "other/"))
def test_other_formats_and_non_images_are_refused(name, data):
    result = outcome(data)
    if name in ("format/mpo", "other/jpeg-then-zip"):  # JPEGs, with something after them
        assert isinstance(result, DecodedImage)
        return
    assert isinstance(result, ImageError), name
    assert result.status in (400, 415)
