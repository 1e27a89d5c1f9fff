"""Plain records that go into the database: a performer as a source sees it; a model's identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class _EmbedderLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...

    dim: int


@dataclass(frozen=True)
class EmbedderInfo:
    """What identifies the model that made a set of vectors: vectors of two models never mix."""

    name: str
    dim: int
    version: str
    sha256: str = ""

    @classmethod
    def from_embedder(cls, embedder: _EmbedderLike) -> EmbedderInfo:
        """Describe an embedder of `stash_sense.faces` (its sha256 is optional on the object)."""
        return cls(
            name=embedder.name,
            dim=int(embedder.dim),
            version=str(embedder.version),
            sha256=str(getattr(embedder, "sha256", "") or ""),
        )

    def as_manifest(self) -> dict[str, Any]:
        return {"version": self.version, "sha256": self.sha256, "dim": self.dim}

    @classmethod
    def from_manifest(cls, name: str, entry: dict[str, Any]) -> EmbedderInfo:
        return cls(
            name=name,
            dim=int(entry["dim"]),
            version=str(entry["version"]),
            sha256=str(entry.get("sha256", "")),
        )

    def describe(self) -> str:
        sha = f" sha256 {self.sha256[:12]}" if self.sha256 else ""
        return f"{self.name} {self.version}{sha}"


@dataclass
class PerformerRecord:
    """A performer as one source describes them; `stash_ids` link the same person across sources."""

    name: str
    disambiguation: str | None = None
    aliases: list[str] = field(default_factory=list)
    gender: str | None = None
    country: str | None = None
    birthdate: str | None = None
    image_urls: list[str] = field(default_factory=list)
    stash_ids: list[tuple[str, str]] = field(default_factory=list)  # (endpoint, stash_id)
    urls: list[tuple[str, str | None]] = field(default_factory=list)  # (url, site)
    primary_source: str | None = None
    deleted: bool = False
