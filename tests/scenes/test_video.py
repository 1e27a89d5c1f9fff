"""ffmpeg frames of a composed video: evenly spaced, at given times, and refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stash_sense.scenes import batch
from stash_sense.scenes.relay import decoder_source
from stash_sense.scenes.video import (
    FrameError,
    VideoInfo,
    decoder_processes,
    frames_at,
    probe_duration,
    sample_times,
    video_frames,
)
from stash_sense_devkit.synth import compose_video, make_sprite


def test_evenly_spaced_frames(two_people_video: Path) -> None:
    assert probe_duration(str(two_people_video)) == pytest.approx(8.0, abs=0.2)
    frames = video_frames(str(two_people_video), 8)
    assert [f.time_s for f in frames] == pytest.approx([0.5 + i for i in range(8)], abs=0.01)
    assert all(f.image.shape == (360, 640, 3) for f in frames)
    empty_shot = frames[2].image  # 2.5 s: nobody, only the background
    assert float(np.std(empty_shot.reshape(-1, 3), axis=0).max()) < 5


def test_frames_at_given_times(two_people_video: Path) -> None:
    frames = frames_at(str(two_people_video), [1.0, 7.0])
    assert [f.time_s for f in frames] == [1.0, 7.0]
    assert float(np.std(frames[1].image.reshape(-1, 3), axis=0).max()) > 5


def test_sample_times_and_refusals(tmp_path: Path) -> None:
    assert sample_times(10.0, 2) == [2.5, 7.5]
    with pytest.raises(FrameError):
        sample_times(10.0, 0)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video")
    with pytest.raises(FrameError, match="cannot read video"):
        video_frames(str(junk), 3)
    with pytest.raises(FrameError, match="cannot read video"):
        video_frames(str(tmp_path / "missing.mp4"), 3)
    with pytest.raises(FrameError, match="no times"):
        frames_at(str(junk), [])


def test_ffmpeg_sprite_matches_stash_layout(tmp_path: Path, lfw_dev: Path) -> None:
    video = compose_video([[lfw_dev / "Monica_Seles" / "1.jpg"]], tmp_path / "s.mp4", shot_s=3)
    sprite, vtt = make_sprite(video, 3.0, tmp_path)
    assert sprite.name == "s_sprite.jpg" and vtt.name == "s_thumbs.vtt"
    import cv2

    from stash_sense.scenes.frames import sprite_frames

    frames = sprite_frames(cv2.imread(str(sprite)), vtt.read_text())
    assert len(frames) == 81 and frames[0].image.shape[1] == 160


def test_opencv_and_ffmpeg_give_the_same_frames(two_people_video: Path) -> None:
    source = str(two_people_video)
    in_process = frames_at(source, [1.0, 4.5, 7.0], method="opencv")
    by_ffmpeg = frames_at(source, [1.0, 4.5, 7.0], method="seek")
    assert [f.time_s for f in in_process] == [f.time_s for f in by_ffmpeg] == [1.0, 4.5, 7.0]
    for a, b in zip(in_process, by_ffmpeg, strict=True):
        assert a.image.shape == b.image.shape
        diff = np.abs(a.image.astype(np.int16) - b.image.astype(np.int16))
        assert float(diff.mean()) < 4.0


def test_large_frames_are_scaled_to_1280_wide(tmp_path: Path, lfw_dev: Path) -> None:
    big = compose_video([[lfw_dev / "Monica_Seles" / "1.jpg"]], tmp_path / "big.mp4",
                        size=(1920, 1080), shot_s=1.0)  # fmt: skip
    for method in ("opencv", "seek", "batch"):
        (frame,) = frames_at(str(big), [0.5], method=method)  # type: ignore[arg-type]
        assert frame.image.shape == (720, 1280, 3)


def test_fewer_decoders_run_at_once_for_large_frames() -> None:
    """One ffmpeg decoding an 8K frame peaked at 272 MB: twice the cores of them at once would
    take gigabytes, so the processes of one request share 1 GB."""
    assert decoder_processes(VideoInfo(60.0, 1920, 1080), 32) == 32
    assert decoder_processes(VideoInfo(60.0, 8192, 4320), 32) == 3
    assert decoder_processes(VideoInfo(60.0, 8192, 4320), 2) == 2
    assert decoder_processes(VideoInfo(60.0, 100_000, 100_000), None) == 1


def _same_pictures(a: list[np.ndarray | None], b: list[np.ndarray | None]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x is not None and y is not None and x.shape == y.shape
        assert float(np.abs(x.astype(np.int16) - y.astype(np.int16)).mean()) < 1.0


def test_one_process_decodes_the_frames_of_one_process_a_frame(
    two_people_video: Path, command_lines: Any
) -> None:
    """Frames decoded by one ffmpeg (runs straight through, far times each with its own seek)
    equal those of one ffmpeg a frame, in the order asked, each with its own time."""
    source = str(two_people_video)
    times = [7.0, 0.2, 0.4, 0.6, 2.5, 4.6, 4.6, 7.9]
    with command_lines("ffmpeg") as seen:
        together = frames_at(source, times, method="batch")
    one_by_one = frames_at(source, times, method="seek")
    assert [f.time_s for f in together] == [f.time_s for f in one_by_one] == times
    _same_pictures([f.image for f in together], [f.image for f in one_by_one])
    ours = {c for c in seen if source in c}  # every ffmpeg on the machine, seen while it runs
    assert len(ours) == 1 and "-filter_complex" in ours.pop(), ours


def test_runs_over_several_processes_and_a_time_past_the_end(two_people_video: Path) -> None:
    """Runs spread over processes keep their order; a time past the end is the one frame left
    out (its process falls short, so its runs are decoded one process a run)."""
    times = [0.5, 3.0, 5.5, 7.5, 30.0]
    with decoder_source(str(two_people_video), None) as src:
        got = batch.grab_batch(src, times, fps=25.0, size=(640, 360), processes=2,
                               inputs_per_process=2)  # fmt: skip
    assert got[-1] is None
    alone = frames_at(str(two_people_video), times[:-1], method="seek")
    _same_pictures(got[:-1], [f.image for f in alone])


def test_nearby_times_are_one_run() -> None:
    assert batch.plan_runs([3.0, 1.0, 1.5, 100.0], fps=24.0) == [[1.0, 1.5, 3.0], [100.0]]
    assert batch.plan_runs([0.0, 3.0], fps=10.0) == [[0.0, 3.0]]
    assert batch.plan_runs([0.0, 3.0], fps=0.0) == [[0.0], [3.0]]  # unknown rate: 30 fps


def test_times_far_apart_are_read_as_keyframes() -> None:
    runs = batch.plan_runs([0.5, 12.0, 12.5, 13.0, 40.0], fps=30.0)
    assert runs == [[0.5], [12.0, 12.5, 13.0], [40.0]]
    assert batch.keyframe_times(runs) == {0.5, 40.0}  # 12.0 starts a run of three: exact
    assert batch.keyframe_times([[5.0], [14.0]]) == frozenset()  # 9 s apart: both exact


def test_evenly_spaced_samples_far_apart_are_the_keyframes_before_them(
    tmp_path: Path, lfw_dev: Path, command_lines: Any
) -> None:
    """Samples 12 s apart are read as the keyframe at or before each time (one frame decoded,
    not every frame since that keyframe): a keyframe every 8 s, a new shot every 4 s, so the
    frame at 14 s is the 8 s keyframe's shot; exact reading (`frames_at`) gives the 12 s shot."""
    pictures = [
        lfw_dev / p / k for p in ("Monica_Seles", "Serena_Williams") for k in ("1.jpg", "2.jpg")
    ]
    shots = [[p] for p in pictures * 2]  # 8 shots of 4 s: 32 s
    video = compose_video(shots, tmp_path / "gop8.mp4", size=(640, 360), shot_s=4.0, gop_s=8.0)
    with command_lines("ffmpeg") as seen:
        sampled = video_frames(str(video), 2)  # 8.0 and 24.0: both keyframes themselves
        snapped = frames_at(str(video), [2.0, 14.0], keyframes=True)
    assert any("-skip_frame nokey" in c for c in seen if str(video) in c)
    exact = frames_at(str(video), [0.5, 8.5, 14.0, 24.5], method="seek")
    assert [f.time_s for f in sampled] == [8.0, 24.0] and [f.time_s for f in snapped] == [2.0, 14.0]
    _same_pictures([f.image for f in sampled], [exact[1].image, exact[3].image])
    _same_pictures([f.image for f in snapped], [exact[0].image, exact[1].image])
    assert float(np.abs(snapped[1].image.astype(int) - exact[2].image.astype(int)).mean()) > 5


def test_a_time_in_the_last_frame_is_read_by_the_one_process(
    tmp_path: Path, lfw_dev: Path, command_lines: Any
) -> None:
    """A 9 s video at 10 fps has its last frame at 8.9 s; a sprite's last cue's middle (8.944 s)
    has no frame at or after it: the whole run was decoded again, one process a time (6.4 CPU s
    for bench_scene's scene-11 instead of 0.2), and that frame was lost. Now it is the last
    frame, from the one process; a time past the end is still left out."""
    video = compose_video([[lfw_dev / "Monica_Seles" / "1.jpg"], []], tmp_path / "nine.mp4",
                          size=(640, 360), shot_s=4.5)  # fmt: skip
    with command_lines("ffmpeg") as seen:
        frames = frames_at(str(video), [0.5, 4.5, 8.944], method="batch")  # one run
    assert [f.time_s for f in frames] == [0.5, 4.5, 8.944]
    assert len({c for c in seen if str(video) in c}) == 1, seen
    assert [f.time_s for f in frames_at(str(video), [0.5, 30.0], method="batch")] == [0.5]
