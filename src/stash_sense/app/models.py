"""The face models: which are registered, whether each is here and intact; fetch an optional one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stash_sense.models import (
    REGISTRY,
    ModelError,
    ModelSpec,
    fetch_model,
    get_spec,
    model_location,
    verify_file,
)

__all__ = ["ModelError", "ModelSpec", "ModelState", "fetch", "get_spec", "model_states"]


@dataclass(frozen=True)
class ModelState:
    """A registered model and its state here: "verified", "present" (not checked), "not fetched"
    (an optional one), "missing" or "checksum mismatch"."""

    spec: ModelSpec
    state: str
    path: Path | None


def model_states(folder: Path, *, verify: bool = True) -> list[ModelState]:
    """Every registered model, looked for in `folder` (fetched ones) or its package."""
    out = []
    for spec in REGISTRY.values():
        try:
            path: Path | None = model_location(spec, folder)
            present = path is not None and path.is_file()
        except ModelError:
            path, present = None, False
        if not present or path is None:
            state = "not fetched" if spec.optional else "missing"
        elif not verify:
            state = "present"
        else:
            try:
                verify_file(spec, path)
                state = "verified"
            except ModelError:
                state = "checksum mismatch"
        out.append(ModelState(spec, state, path))
    return out


def fetch(
    spec: ModelSpec,
    folder: Path,
    *,
    url: str | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Download a model (`get_spec(name)`; ModelError for an unknown name) into `folder` (from
    `url`, a mirror, when given), resuming and verifying it; ModelError when that fails."""
    return fetch_model(spec, url=url, folder=folder, on_progress=on_progress)
