"""dlib's ResNet converted to ONNX and run in OpenCV gives dlib's own vectors; the converted
graph is cached, checked and rebuilt; a file that is not dlib's network is refused clearly; and
where the conversion cannot run, dlib runs the network after one warning."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from stash_sense.faces.embedders import DlibResNetEmbedder
from stash_sense.faces.embedders.dlib_cache import (
    GRAPH_NAME,
    ConversionError,
    cached_graph,
    dlib_graph,
)
from stash_sense.faces.embedders.dlib_format import DlibFormatError, read_network
from stash_sense.faces.types import ImageArray
from stash_sense.models import resolve_model_path, use_models_dir

#: measured on these ten chips: cosine >= 0.9999999, largest difference 3.4e-7 (values ~0.1)
MAX_ABS = 1e-5


def test_opencv_gives_dlibs_vectors(chips: list[ImageArray]) -> None:
    converted = DlibResNetEmbedder(backend="opencv")
    native = DlibResNetEmbedder(backend="dlib")
    ours, theirs = converted._forward(chips), native._forward(chips)
    assert converted.backend == "opencv" and native.backend == "dlib"
    assert ours.shape == theirs.shape == (10, 128)
    cosine = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosine.min() > 0.99999
    assert np.abs(ours - theirs).max() < MAX_ABS
    # one chip alone and within a batch: the same vector
    np.testing.assert_allclose(converted._forward(chips[3:4]), ours[3:4], atol=1e-6)


def test_the_graph_is_cached_checked_and_rebuilt(tmp_path: Path) -> None:
    graph = dlib_graph(tmp_path)
    assert isinstance(graph, Path) and graph == tmp_path / GRAPH_NAME
    record = json.loads((tmp_path / (GRAPH_NAME + ".json")).read_text())
    assert record["source_sha256"] == DlibResNetEmbedder().sha256
    assert cached_graph(tmp_path) == graph
    good = graph.read_bytes()
    graph.write_bytes(good[: len(good) // 2])  # a torn write
    assert cached_graph(tmp_path) is None
    assert dlib_graph(tmp_path) == graph and graph.read_bytes() == good
    (tmp_path / (GRAPH_NAME + ".json")).write_text("{not json")
    assert cached_graph(tmp_path) is None
    assert dlib_graph(tmp_path) == graph and cached_graph(tmp_path) == graph


def test_a_file_that_is_not_dlibs_network_is_refused() -> None:
    data = resolve_model_path("dlib").read_bytes()
    with pytest.raises(DlibFormatError, match="ends early"):
        read_network(data[:-100])
    with pytest.raises(DlibFormatError, match="bytes left"):
        read_network(data + b"\x00")
    shape_predictor = resolve_model_path("dlib-shape5").read_bytes()
    with pytest.raises(DlibFormatError):
        read_network(shape_predictor)


def test_without_onnx_dlib_runs_the_network_after_one_warning(
    chips: list[ImageArray],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no cached graph there
    use_models_dir(tmp_path)  # nor in a models folder an earlier command of this process set
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the package were not installed
    with pytest.raises(ConversionError, match="onnx package"):
        DlibResNetEmbedder(backend="opencv").backend  # noqa: B018
    embedder = DlibResNetEmbedder()
    with caplog.at_level(logging.WARNING):
        vectors = embedder.embed(chips[:2])
        embedder.embed(chips[2:3])
    assert embedder.backend == "dlib"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "onnx package" in warnings[0].getMessage()
    np.testing.assert_allclose(
        vectors, DlibResNetEmbedder(backend="dlib").embed(chips[:2]), atol=1e-6
    )


def test_the_cores_the_user_allows_bound_opencvs_threads() -> None:
    import cv2

    from stash_sense.faces.cores import allow_cores

    default = cv2.getNumThreads()
    try:
        allow_cores(1)
        assert cv2.getNumThreads() == 1  # dlib's ResNet now runs in OpenCV's threads
    finally:
        allow_cores(None)
    assert cv2.getNumThreads() == default
