"""dlib's face ResNet as an ONNX file, converted from the installed (verified) .dat on first use.

The graph (dlib_format.py reads the .dat, dlib_onnx.py writes the graph) is cached in the
models folder as dlib_face_recognition_resnet_model_v1.onnx with a small JSON record beside it:
the source's sha256, this converter's version and the graph's own sha256. A graph whose record
does not match (missing, corrupt, another source or converter) is rebuilt; nothing is ever
downloaded. Where the folder cannot be written, the graph is kept in memory for the process.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from stash_sense.models import get_spec, models_dir, resolve_model_path, sha256_file

#: bump when the converter's output changes, so that cached graphs are rebuilt
CONVERTER_VERSION = 1
GRAPH_NAME = "dlib_face_recognition_resnet_model_v1.onnx"


class ConversionError(RuntimeError):
    """dlib's network could not be converted (the onnx package missing, a file dlib's reader
    refuses, a folder that cannot be read)."""


def _record(folder: Path) -> Path:
    return folder / (GRAPH_NAME + ".json")


def _expected(source_sha256: str) -> dict[str, object]:
    return {"source_sha256": source_sha256, "converter": CONVERTER_VERSION}


def cached_graph(folder: Path) -> Path | None:
    """The cached graph when its record says it is this source's, by this converter, intact."""
    graph = folder / GRAPH_NAME
    try:
        record = json.loads(_record(folder).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not graph.is_file():
        return None
    wanted = _expected(get_spec("dlib").sha256)
    if any(record.get(k) != v for k, v in wanted.items()):
        return None
    try:
        return graph if sha256_file(graph) == record.get("graph_sha256") else None
    except OSError:
        return None


def convert(source: Path) -> bytes:
    """The ONNX graph (serialized) of dlib's network in `source`."""
    from stash_sense.faces.embedders.dlib_format import DlibFormatError, read_network

    try:
        from stash_sense.faces.embedders.dlib_onnx import build_model

        return bytes(build_model(read_network(source.read_bytes())).SerializeToString())
    except ImportError as exc:
        raise ConversionError(f"the onnx package is not installed ({exc})") from None
    except (DlibFormatError, OSError) as exc:
        raise ConversionError(f"cannot convert {source}: {exc}") from None
    except Exception as exc:  # onnx.checker refusing the graph: a converter bug
        raise ConversionError(f"the converted graph is invalid: {exc}") from None


def _write(folder: Path, data: bytes, source_sha256: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    graph = folder / GRAPH_NAME
    for path, content in (
        (graph, data),
        (
            _record(folder),
            json.dumps(
                {**_expected(source_sha256), "graph_sha256": _sha256_bytes(data)}, indent=1
            ).encode(),
        ),
    ):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=path.name, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return graph


def _sha256_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def dlib_graph(folder: Path | None = None) -> Path | bytes:
    """The ONNX graph of dlib's ResNet: the cached file's path, or (the folder not writable) the
    graph itself. Raises ConversionError, or ModelError when the .dat is missing or wrong."""
    folder = models_dir(folder)
    found = cached_graph(folder)
    if found is not None:
        return found
    source = resolve_model_path("dlib")  # verified against its sha256
    data = convert(source)
    try:
        return _write(folder, data, get_spec("dlib").sha256)
    except OSError:
        return data
