"""A maintainer's decisions on links, kept in `graph-decisions.json` beside the graph: they
survive every rebuild and win over the evidence (accept joins two records, reject parts them)."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

DECISIONS_NAME = "graph-decisions.json"


class DecisionsError(Exception):
    """The decisions file cannot be read; it is left as it is."""


def load_decisions(path: Path) -> dict[tuple[str, str], bool]:
    """{(a, b) sorted: True to accept, False to reject}; {} when there is no file."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        items = data["decisions"]
        return {
            tuple(sorted((str(d["a"]), str(d["b"])))): d["decision"] == "accept"  # type: ignore[misc]
            for d in items
            if d.get("decision") in ("accept", "reject")
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise DecisionsError(
            f"cannot read the graph decisions {path}: {err}; fix or move the file (it is kept)"
        ) from None


def record_decision(path: Path, a: str, b: str, accept: bool) -> None:
    """Add or replace the decision on one pair; the file is replaced atomically."""
    current = load_decisions(path)
    current[tuple(sorted((a, b)))] = accept  # type: ignore[index]
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = {}
    if path.exists():
        old = {
            tuple(sorted((d["a"], d["b"]))): d for d in json.loads(path.read_text())["decisions"]
        }
    items = []
    for (x, y), ok in sorted(current.items()):
        prior = old.get((x, y))
        same = prior is not None and (prior["decision"] == "accept") == ok
        at = prior.get("at", stamp) if same and prior else stamp
        items.append({"a": x, "b": y, "decision": "accept" if ok else "reject", "at": at})
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".decisions-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"version": 1, "decisions": items}, out, indent=2, ensure_ascii=False)
    os.replace(tmp, path)
