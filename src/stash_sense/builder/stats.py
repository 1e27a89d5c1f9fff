"""Per-source build statistics, kept in the staging state (so they survive resumes) and written
to the manifest's `sources` at publish.

Counts move only with what the database really gained: a performer counts as seen when it was
new, a face when `add_face` stored it, a skip when the image had not been recorded before; so a
build killed and resumed counts exactly what a clean build counts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SourceStats:
    performers_seen: int = 0
    with_faces: int = 0
    faces: int = 0
    images_seen: int = 0
    deleted: int = 0
    merged: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + n

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> SourceStats:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def manifest(self, endpoint: str, kind: str) -> dict[str, Any]:
        per = self.faces / self.with_faces if self.with_faces else 0.0
        return {
            "endpoint": endpoint,
            "kind": kind,
            "performers_seen": self.performers_seen,
            "with_faces": self.with_faces,
            "faces": self.faces,
            "faces_per_performer": round(per, 3),
            "images_seen": self.images_seen,
            "deleted": self.deleted,
            "merged": self.merged,
            "skipped": dict(sorted(self.skipped.items())),
        }
