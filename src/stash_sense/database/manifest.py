"""The manifest of a database generation (`manifest.json`): what made it and what it holds."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stash_sense.database.errors import DatabaseError
from stash_sense.database.records import EmbedderInfo

FORMAT = "stash-sense-db"
SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"

#: the tiers of a database that has no calibration: plain fused-distance thresholds (what the
#: numbers mean, and the calibrated rule that replaces them, belong to stash_sense.matching.tiers)
UNCALIBRATED_TIERS: dict[str, Any] = {
    "high": 0.4,
    "likely": 0.6,
    "possible": 0.8,
    "calibration": {},
}


def default_fusion(embedders: Sequence[EmbedderInfo]) -> dict[str, float]:
    """Equal weights: each embedder's cosine distance counts the same in the fused distance."""
    return {e.name: round(1.0 / len(embedders), 6) for e in embedders} if embedders else {}


@dataclass
class Manifest:
    """The parsed `manifest.json` of one generation."""

    models: dict[str, EmbedderInfo]
    fusion: dict[str, float]
    #: how matches get their tier (read by stash_sense.matching.tiers.Tiers.from_dict)
    tiers: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)
    sources: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    created_at: str = ""
    build_seconds: float = 0.0
    schema_version: int = SCHEMA_VERSION

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "schema_version": self.schema_version,
            "created_at": self.created_at,
            "build_seconds": round(self.build_seconds, 3),
            "models": {name: info.as_manifest() for name, info in self.models.items()},
            "fusion": {"embedders": dict(self.fusion)},
            "tiers": dict(self.tiers),
            "counts": dict(self.counts),
            "sources": self.sources,
            "files": dict(self.files),
        }

    def write(self, folder: Path) -> Path:
        path = folder / MANIFEST_NAME
        path.write_text(json.dumps(self.as_dict(), indent=2, sort_keys=False) + "\n")
        return path

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        """Parse and check `folder/manifest.json`; any problem is a one-line DatabaseError."""
        path = folder / MANIFEST_NAME
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise DatabaseError(f"{folder} is not a face database: no {MANIFEST_NAME}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise DatabaseError(f"corrupt manifest {path}: {err}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DatabaseError(f"{path} is not a stash-sense database manifest")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise DatabaseError(
                f"{folder} has database schema version {version}; this stash-sense reads "
                f"version {SCHEMA_VERSION}: rebuild or download a matching database"
            )
        try:
            models = {
                name: EmbedderInfo.from_manifest(name, entry)
                for name, entry in dict(data["models"]).items()
            }
            fusion = {k: float(v) for k, v in dict(data["fusion"]["embedders"]).items()}
            tiers = dict(data["tiers"])
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise DatabaseError(f"corrupt manifest {path}: missing or bad {err}") from None
        if not models:
            raise DatabaseError(f"corrupt manifest {path}: no models")
        return cls(
            models=models,
            fusion=fusion,
            tiers=tiers,
            counts={k: int(v) for k, v in dict(data.get("counts") or {}).items()},
            sources=dict(data.get("sources") or {}),
            files={k: str(v) for k, v in dict(data.get("files") or {}).items()},
            created_at=str(data.get("created_at", "")),
            build_seconds=float(data.get("build_seconds", 0.0)),
            schema_version=version,
        )


def check_models(
    have: Mapping[str, EmbedderInfo], engine: Sequence[EmbedderInfo], where: str
) -> list[str]:
    """The embedder names usable with this engine; error if a model differs or none is shared.

    A model of the same name but another version or file would put vectors in another space:
    distances between them mean nothing, so that is refused.
    """
    common: list[str] = []
    for info in engine:
        mine = have.get(info.name)
        if mine is None:
            continue
        same = mine.version == info.version and mine.dim == info.dim
        if same and mine.sha256 and info.sha256:
            same = mine.sha256 == info.sha256
        if not same:
            raise DatabaseError(
                f"{where} was made with {mine.describe()} (dim {mine.dim}); this engine has "
                f"{info.describe()} (dim {info.dim}): use the same models or rebuild the database"
            )
        common.append(info.name)
    if not common:
        made = ", ".join(m.describe() for m in have.values())
        ours = ", ".join(e.describe() for e in engine) or "none"
        raise DatabaseError(
            f"{where} was made with {made}; this engine has {ours}: no model shared"
        )
    return common
