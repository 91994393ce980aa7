"""dlib's face recognition ResNet converted to ONNX: the same descriptors as dlib's own on
real faces, in batches and one at a time, the converted file cached by the source's hash,
and clear errors on files that are not the network.

Real faces only from packages: scikit-image's astronaut (aligned as the app aligns faces,
then jittered and mirrored) and LFW faces from its lfw_subset, upscaled.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from skimage import data

from webapp.learn.features.dlib_resnet import (
    BATCH,
    GRAPH_VERSION,
    ResNetFileError,
    ResNetRunner,
    converted_model,
    read_dlib_resnet,
)
from webapp.learn.features.embeddings import RESNET_FILE, SHAPE_FILE, model_folder
from webapp.vision import cv2

dlib = pytest.importorskip("dlib")
FOLDER = model_folder()
if FOLDER is None or not (FOLDER / RESNET_FILE).is_file() or not (FOLDER / SHAPE_FILE).is_file():
    pytest.skip("dlib's model files are not installed", allow_module_level=True)
SOURCE = FOLDER / RESNET_FILE
TOLERANCE = 1e-5  # float rounding: folded batch norms and another summation order


def astronaut_chip() -> np.ndarray:
    """The astronaut's face aligned as dlib.get_face_chip aligns it for the ResNet."""
    image = data.astronaut()
    boxes, scores, _ = dlib.get_frontal_face_detector().run(image, 1)
    assert boxes, "dlib found no face in the astronaut"
    box = boxes[int(np.argmax(scores))]  # the other hit is her mission patch
    landmarks = dlib.shape_predictor(str(FOLDER / SHAPE_FILE))(image, box)
    return dlib.get_face_chip(image, landmarks, size=150, padding=0.25)


def lfw_chip(index: int) -> np.ndarray:
    """Someone else: an LFW face (25x25 greyscale) upscaled to a colour chip."""
    face = (data.lfw_subset()[index] * 255).round().astype(np.uint8)
    big = cv2.resize(face, (150, 150), interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(np.repeat(big[:, :, None], 3, axis=2))


@pytest.fixture(scope="module")
def chips() -> list[np.ndarray]:
    """More chips than one batch holds, so a batch boundary is crossed."""
    chip = astronaut_chip()
    jittered = list(dlib.jitter_image(chip, num_jitters=3))
    mirrored = np.ascontiguousarray(chip[:, ::-1])
    found = [chip, mirrored, *jittered] + [lfw_chip(index) for index in (0, 17, 33, 50, 71, 99)]
    assert len(found) > BATCH
    return found


@pytest.fixture(scope="module")
def dlib_descriptors(chips: list[np.ndarray]) -> np.ndarray:
    network = dlib.face_recognition_model_v1(str(SOURCE))
    return np.array([network.compute_face_descriptor(chip) for chip in chips])


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="module")
def runner(cache: Path) -> ResNetRunner:
    return ResNetRunner(converted_model(SOURCE, cache))


def test_the_file_holds_the_expected_network() -> None:
    network = read_dlib_resnet(SOURCE)
    kinds = [layer.kind for layer in network.layers]
    assert len(kinds) == 130
    assert kinds.count("con") == 29 and kinds.count("affine") == 29 and kinds.count("fc") == 1
    params = sum(value.size for layer in network.layers for value in layer.params.values())
    assert params == 5_614_592
    assert network.means == pytest.approx((122.782, 117.001, 104.298), abs=1e-3)


def test_batch_matches_dlib(
    runner: ResNetRunner, chips: list[np.ndarray], dlib_descriptors: np.ndarray
) -> None:
    ours = runner.describe(chips)
    assert ours.shape == (len(chips), 128) and ours.dtype == np.float32
    worst = np.abs(ours - dlib_descriptors).max(axis=1)
    assert (worst <= TOLERANCE).all(), f"largest differences per chip: {worst}"
    # Not a constant: the faces are told apart (the mirrored face stays close).
    assert np.linalg.norm(dlib_descriptors[0] - dlib_descriptors[-1]) > 0.6
    assert np.linalg.norm(dlib_descriptors[0] - dlib_descriptors[1]) < 0.6


def test_one_chip_at_a_time_matches_dlib_and_the_batch(
    runner: ResNetRunner, chips: list[np.ndarray], dlib_descriptors: np.ndarray
) -> None:
    batch = runner.describe(np.stack(chips))
    for chip, expected, in_batch in zip(chips, dlib_descriptors, batch, strict=True):
        alone = runner.describe(chip)
        assert alone.shape == (1, 128)
        assert np.abs(alone[0] - expected).max() <= TOLERANCE
        np.testing.assert_allclose(alone[0], in_batch, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(runner.describe([chip]), alone)


def test_no_chips_and_wrong_chips(runner: ResNetRunner, chips: list[np.ndarray]) -> None:
    assert runner.describe([]).shape == (0, 128)
    assert runner.describe(np.empty((0, 150, 150, 3), np.uint8)).shape == (0, 128)
    with pytest.raises(ValueError, match="uint8 150x150x3"):
        runner.describe(chips[0].astype(np.float32))
    with pytest.raises(ValueError, match="uint8 150x150x3"):
        runner.describe(chips[0][:100])


def test_the_converted_file_is_reused(cache: Path, runner: ResNetRunner) -> None:
    first = converted_model(SOURCE, cache)
    written = first.stat().st_mtime_ns
    again = converted_model(SOURCE, cache)
    assert again == first and again.stat().st_mtime_ns == written
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    assert first.name == f"dlib-resnet-{digest}-g{GRAPH_VERSION}.onnx"
    assert not list(cache.glob("*.tmp"))  # the temporary was renamed, not left behind


def test_a_graph_from_an_earlier_builder_is_made_again(tmp_path: Path) -> None:
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    earlier = tmp_path / f"dlib-resnet-{digest}.onnx"  # before graphs had a version
    earlier.write_bytes(b"an earlier graph")
    converted = converted_model(SOURCE, tmp_path)
    assert converted.name == f"dlib-resnet-{digest}-g{GRAPH_VERSION}.onnx"
    assert not earlier.exists()
    assert ResNetRunner(converted).describe(np.zeros((150, 150, 3), np.uint8)).shape == (1, 128)


def test_another_source_gets_another_file(tmp_path: Path, cache: Path) -> None:
    changed = tmp_path / RESNET_FILE
    shutil.copyfile(SOURCE, changed)
    content = bytearray(changed.read_bytes())
    # The middle of the file is convolution weights: one weight changes by a rounding.
    content[len(content) // 2] ^= 1
    changed.write_bytes(bytes(content))
    converted = converted_model(changed, cache)
    assert converted != converted_model(SOURCE, cache)
    digest = hashlib.sha256(content).hexdigest()[:16]
    assert converted.name == f"dlib-resnet-{digest}-g{GRAPH_VERSION}.onnx"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda source: source[: len(source) // 3], "truncated"),
        (lambda source: source[:-40], "truncated"),
        (lambda source: source + b"\x01\x00", "goes on after the last layer"),
        (lambda source: b"not a model at all\n" * 50, "bad integer"),
        (lambda source: b"", "truncated"),
    ],
    ids=["a third", "all but the end", "trailing bytes", "text", "empty"],
)
def test_a_damaged_file_is_refused(tmp_path: Path, content, message: str) -> None:
    damaged = tmp_path / "damaged.dat"
    damaged.write_bytes(content(SOURCE.read_bytes()))
    with pytest.raises(ResNetFileError, match=message) as refused:
        read_dlib_resnet(damaged)
    assert "is not dlib's face recognition ResNet" in str(refused.value)
    cache = tmp_path / "cache"
    with pytest.raises(ResNetFileError):
        converted_model(damaged, cache)
    assert not cache.exists() or not any(cache.iterdir())


def test_another_dlib_model_is_refused() -> None:
    with pytest.raises(ResNetFileError, match="is not dlib's face recognition ResNet"):
        read_dlib_resnet(FOLDER / SHAPE_FILE)
