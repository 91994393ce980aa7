"""Frame sampling and video probing/reading."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from webapp.vision.video import ReadStats, Sampling, VideoError, probe, read_kept_frames


def test_sampling_starts_at_the_offset_and_stops_at_the_cap():
    frames = list(Sampling(offset=2000, every=50, cap=500, seed=7).kept_frames())
    assert frames[0] == 2000
    assert len(frames) == 500
    assert all(b > a for a, b in itertools.pairwise(frames))


def test_sampling_gaps_average_every():
    frames = list(Sampling(offset=0, every=50, cap=5000, seed=1).kept_frames())
    skipped = np.diff(frames) - 1
    assert skipped.min() >= 0
    assert skipped.max() <= 100
    assert abs(skipped.mean() - 50) < 1.5  # 4999 gaps: standard error about 0.4
    assert len(set(skipped.tolist())) > 50  # random, not a fixed stride


def test_same_seed_same_frames_other_seed_other_frames():
    one = list(Sampling(offset=10, every=25, cap=200, seed=7).kept_frames())
    again = list(Sampling(offset=10, every=25, cap=200, seed=7).kept_frames())
    other = list(Sampling(offset=10, every=25, cap=200, seed=8).kept_frames())
    assert one == again
    assert one != other


def test_every_zero_keeps_consecutive_frames():
    assert list(Sampling(offset=3, every=0, cap=4, seed=0).kept_frames()) == [3, 4, 5, 6]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"offset": -1}, "offset"),
        ({"every": -5}, "every"),
        ({"every": 10**9}, "every"),
        ({"cap": 0}, "cap"),
        ({"cap": 10**9}, "cap"),
        ({"seed": -1}, "seed"),
    ],
)
def test_absurd_sampling_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        Sampling(**options)


def test_probe_describes_a_video(face_video):
    info = probe(face_video)
    assert (info.frame_count, info.width, info.height, info.fps) == (60, 512, 512, 25.0)
    assert info.size_bytes == face_video.stat().st_size
    assert len(info.fingerprint) == 64
    assert info.time_ms(50) == 2000


def test_probe_refuses_missing_file_directory_and_non_video(tmp_path):
    with pytest.raises(VideoError, match="no such file"):
        probe(tmp_path / "nothing.mp4")
    with pytest.raises(VideoError, match="not a file"):
        probe(tmp_path)
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 100)
    with pytest.raises(VideoError, match="not a video"):
        probe(text)


def test_probe_refuses_a_truncated_video(face_video, tmp_path):
    data = face_video.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="truncated"):
        probe(cut)


def test_reading_decodes_only_until_the_last_kept_frame(face_video):
    info = probe(face_video)
    stats = ReadStats()
    kept = list(read_kept_frames(info, Sampling(offset=5, every=3, cap=4, seed=3), stats))
    indices = [index for index, _ in kept]
    assert indices == list(Sampling(offset=5, every=3, cap=4, seed=3).kept_frames())
    assert stats.frames_kept == 4
    assert stats.frames_read == indices[-1] + 1
    assert all(frame.shape == (512, 512, 3) for _, frame in kept)


def test_reading_stops_at_the_end_of_the_file(face_video):
    info = probe(face_video)
    stats = ReadStats()
    kept = list(read_kept_frames(info, Sampling(offset=50, every=0, cap=100, seed=0), stats))
    assert [index for index, _ in kept] == list(range(50, 60))
    assert stats.frames_read == 60
