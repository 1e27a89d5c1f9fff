"""Fetch a model file into the cache: streamed, resumable (HTTP Range on a .part file), verified
(SHA-256) and published by an atomic rename, so that a half-written file is never taken for a model.

When the pinned URL is a zip archive (InsightFace publishes its models as packs), the archive is
verified, every registered model it holds is extracted and verified, and the archive is removed.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

from stash_sense.models.registry import (
    REGISTRY,
    ModelError,
    ModelSpec,
    get_spec,
    models_dir,
    sha256_file,
    verify_file,
)
from stash_sense.net import HttpClient, NetError, Policy, Progress, Scope, redact_url, resume

ProgressCallback = Progress
#: model files are fetched from release hosts that redirect to a CDN (GitHub to its object store)
POLICY = Policy(scope=Scope.ANY, max_redirects=5, max_bytes=4 * 1024**3, deadline_s=None)
_CHUNK = 1 << 16


def _publish(tmp: Path, spec: ModelSpec, target: Path) -> Path:
    """Verify `tmp` against the spec and rename it onto `target`; a wrong file is deleted."""
    try:
        verify_file(spec, tmp)
    except ModelError:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)
    return target


def _member_name(archive: zipfile.ZipFile, spec: ModelSpec) -> str:
    names = archive.namelist()
    wanted = spec.archive_member or spec.filename
    if wanted in names:
        return wanted
    # packs have been re-zipped with and without a top folder: match by file name
    matches = [n for n in names if n.rsplit("/", 1)[-1] == Path(wanted).name]
    if len(matches) != 1:
        raise ModelError(f"model {spec.name}: {wanted} not found in the archive")
    return matches[0]


def _extract(archive_path: Path, specs: Sequence[ModelSpec], folder: Path) -> None:
    with zipfile.ZipFile(archive_path) as archive:
        for spec in specs:
            target = folder / spec.filename
            if target.is_file():
                try:
                    verify_file(spec, target)
                    continue
                except ModelError:
                    pass
            tmp = target.with_name(target.name + ".tmp")
            with archive.open(_member_name(archive, spec)) as src, tmp.open("wb") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
            _publish(tmp, spec, target)


def _archive_siblings(spec: ModelSpec) -> list[ModelSpec]:
    """The spec plus every registered model that comes from the same archive."""
    others = [
        s
        for s in REGISTRY.values()
        if s.url == spec.url and s.archive_member and s.name != spec.name
    ]
    return [spec, *others]


def fetch_model(
    model: str | ModelSpec,
    *,
    url: str | None = None,
    folder: Path | None = None,
    on_progress: ProgressCallback | None = None,
    client: HttpClient | None = None,
) -> Path:
    """Make sure the model's verified file is in the cache and return its path.

    `url` overrides the pinned URL (a mirror); the file must still match the pinned SHA-256.
    A previous interrupted download (a `.part` file) is continued.
    """
    spec = get_spec(model) if isinstance(model, str) else model
    if spec.bundled and url is None:
        from stash_sense.models.registry import resolve_model_path

        return resolve_model_path(spec.name)
    source = url or spec.url
    if not source:
        raise ModelError(f"model {spec.name}: no URL to fetch it from")
    folder = models_dir(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / spec.filename
    if target.is_file():
        try:
            verify_file(spec, target)
            return target
        except ModelError:
            target.unlink()

    download_name = Path(urlparse(source).path).name or spec.filename
    part = folder / (download_name + ".part")
    own_client = client is None
    http = client or HttpClient(timeout_s=120.0)
    try:
        resume(http, source, part, POLICY, progress=on_progress)
    except NetError as exc:
        shown = redact_url(source)
        detail = str(exc).removeprefix(f"{shown}: ")  # NetError names the URL too: once is enough
        raise ModelError(f"model {spec.name}: download from {shown} failed: {detail}") from None
    finally:
        if own_client:
            http.close()

    if spec.archive_member and zipfile.is_zipfile(part):
        if spec.archive_sha256 and url is None:
            digest = sha256_file(part)
            if digest != spec.archive_sha256:
                part.unlink(missing_ok=True)
                raise ModelError(
                    f"model {spec.name}: archive sha256 mismatch: got {digest}, "
                    f"expected {spec.archive_sha256}"
                )
        try:
            _extract(part, _archive_siblings(spec) if spec.name in REGISTRY else [spec], folder)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise ModelError(f"model {spec.name}: bad archive: {exc}") from None
        finally:
            part.unlink(missing_ok=True)
        return target
    return _publish(part, spec, target)
