"""The device setting: onnxruntime (on CUDA where it is offered) gives OpenCV's vectors for
dlib's graph and SFace; a GPU asked for and not available is one warning, then the CPU; "cpu"
never asks onnxruntime for CUDA; a malformed STASH_SENSE_DEVICE is one line, exit status 2.

No GPU is lent to these tests: onnxruntime's CPU provider stands in for CUDA's where the path
itself is tested, and a CUDA build is simulated only by the provider list onnxruntime reports."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from stash_sense.faces import FaceEngine, load_image
from stash_sense.faces.embedders import DlibResNetEmbedder, SFaceEmbedder, runtime
from stash_sense.faces.types import ImageArray

ort = pytest.importorskip("onnxruntime")

#: measured on 60 LFW faces (two photos of the first 30 people of lfw-dev), onnxruntime 1.31.1's
#: CPU provider against OpenCV's DNN: dlib's graph differs by 4.8e-7 at most (values up to 0.5),
#: SFace by 4.5e-6 (values up to 3.8); cosine >= 0.9999998 for both
MAX_ABS = {"dlib": 1e-5, "sface": 1e-4}
CUDA = "CUDAExecutionProvider"


@pytest.fixture(autouse=True)
def device_back() -> Iterator[None]:
    yield
    runtime.use_device("auto")


@pytest.fixture
def cuda_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """onnxruntime says it has CUDA, as onnxruntime-gpu does; its own provider list is not
    touched, so a session asked for CUDA still cannot have it here."""
    offered = [CUDA, *ort.get_available_providers()]
    monkeypatch.setattr(ort, "get_available_providers", lambda: offered)


@pytest.fixture(scope="module")
def sface_crops(engine: FaceEngine, lfw_dev: Path) -> list[ImageArray]:
    sface = SFaceEmbedder()
    out = []
    for person in ("Abdoulaye_Wade", "Adam_Sandler", "Abdullah_Gul", "Alvaro_Uribe"):
        image = load_image(lfw_dev / person / "0.jpg")
        face = engine.detect(image)[0]
        out.append(sface.align(image, face.landmarks))
    return out


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_onnxruntime_gives_opencvs_vectors(
    chips: list[ImageArray], sface_crops: list[ImageArray], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.use_device("cpu")
    opencv = {"dlib": DlibResNetEmbedder(), "sface": SFaceEmbedder()}
    # each network chooses where it runs on first use
    assert opencv["dlib"].graph.where == opencv["sface"].net.where == "opencv"
    monkeypatch.setattr(runtime, "GPU_PROVIDER", "CPUExecutionProvider")  # stands in for CUDA
    runtime.use_device("gpu")
    onnx = {"dlib": DlibResNetEmbedder(), "sface": SFaceEmbedder()}
    for name, crops in (("dlib", chips), ("sface", sface_crops)):
        theirs, ours = opencv[name]._forward(crops), onnx[name]._forward(crops)
        assert ours.shape == theirs.shape == (len(crops), 128)
        cosine = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1)
        cosine /= np.linalg.norm(theirs, axis=1)
        assert cosine.min() > 0.99999, name
        assert np.abs(ours - theirs).max() < MAX_ABS[name], name
    assert onnx["dlib"].graph.where == onnx["sface"].net.where == "onnxruntime"


def test_gpu_without_cuda_warns_once_and_runs_on_the_cpu(
    chips: list[ImageArray], caplog: pytest.LogCaptureFixture
) -> None:
    runtime.use_device("gpu")  # this onnxruntime is the CPU-only build
    dlib, sface = DlibResNetEmbedder(), SFaceEmbedder()
    with caplog.at_level(logging.WARNING):
        vectors = dlib.embed(chips[:2])
        sface.embed(chips[:2])
    assert dlib.graph.where == sface.net.where == "opencv"
    (warning,) = _warnings(caplog)
    assert "STASH_SENSE_DEVICE=gpu" in warning and "CPU-only build" in warning
    runtime.use_device("cpu")
    np.testing.assert_allclose(vectors, DlibResNetEmbedder().embed(chips[:2]), atol=1e-6)


def test_a_cuda_provider_that_cannot_start_is_one_warning(
    chips: list[ImageArray], cuda_build: None, caplog: pytest.LogCaptureFixture
) -> None:
    runtime.use_device("gpu")
    dlib, sface = DlibResNetEmbedder(), SFaceEmbedder()
    with caplog.at_level(logging.WARNING):
        dlib.embed(chips[:1])
        sface.embed(chips[:1])
    assert dlib.graph.where == sface.net.where == "opencv"
    (warning,) = _warnings(caplog)
    assert CUDA in warning
    caplog.clear()
    runtime.use_device("auto")  # auto: the CPU without a word
    with caplog.at_level(logging.WARNING):
        assert SFaceEmbedder().net.where == "opencv"
    assert _warnings(caplog) == []


def test_cpu_never_asks_onnxruntime_for_cuda(
    cuda_build: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    asked: list[object] = []
    monkeypatch.setattr(ort, "InferenceSession", lambda *a, **k: asked.append(k))
    runtime.use_device("cpu")
    with caplog.at_level(logging.WARNING):
        assert DlibResNetEmbedder().graph.where == "opencv"
        assert SFaceEmbedder().net.where == "opencv"
    assert asked == [] and _warnings(caplog) == []
    assert runtime.providers() == ["CPUExecutionProvider"]  # ArcFace's session
    runtime.use_device("auto")
    assert runtime.providers() == [CUDA, "CPUExecutionProvider"]


def test_onnxruntimes_threads_are_the_cores_the_user_allows() -> None:
    from stash_sense.faces.cores import allow_cores

    try:
        allow_cores(1)
        assert runtime.session_options().intra_op_num_threads == 1
    finally:
        allow_cores(None)


def test_the_device_setting_is_applied_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from stash_sense.cli.common import settings
    from stash_sense.models import use_models_dir

    monkeypatch.setenv("STASH_SENSE_DEVICE", "cpu")
    try:
        settings()
        assert runtime.device() == "cpu"
    finally:
        use_models_dir(None)  # settings() also named the models folder for the whole process
    with pytest.raises(ValueError, match="device must be one of"):
        runtime.use_device("cuda")  # type: ignore[arg-type]
    env = {**os.environ, "STASH_SENSE_DEVICE": "cuda"}
    cmd = [sys.executable, "-m", "stash_sense.cli.app", "db", "info", "--db", "/nonexistent"]
    bad = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    lines = [line for line in bad.stderr.splitlines() if line.strip()]
    assert bad.returncode == 2 and len(lines) == 1 and "STASH_SENSE_DEVICE" in lines[0], bad.stderr
