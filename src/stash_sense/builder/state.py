"""The builder's resume state, kept in the staging database's `state` table and written in the
same transaction as the performers it describes (so a kill -9 never leaves them out of step)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from stash_sense.builder.stats import SourceStats
from stash_sense.database import DatabaseWriter


def parse_time(value: str | None) -> datetime | None:
    """An ISO time as the sources write it ("...Z" or with an offset); None if unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class BuildState:
    """Where a source's build stands."""

    source: str
    offset: int = 0  # performers of the full pass written, in the source's stable order
    last_id: str | None = None  # the last one written (to realign after deletions upstream)
    page_size: int | None = None
    complete: bool = False  # a full pass has finished
    watermark: str | None = None  # newest `updated` of the last finished pass
    max_updated: str | None = None  # newest `updated` seen by the pass under way
    stats: SourceStats | None = None

    def key(self, name: str) -> str:
        return f"builder:{self.source}:{name}"

    @classmethod
    def load(cls, writer: DatabaseWriter, source: str) -> BuildState:
        st = cls(source)
        get = writer.get_state
        st.offset = int(get(st.key("offset")) or 0)
        st.last_id = get(st.key("last_id")) or None
        size = get(st.key("page_size"))
        st.page_size = int(size) if size else None
        st.complete = get(st.key("complete")) == "1"
        st.watermark = get(st.key("watermark")) or None
        st.max_updated = get(st.key("max_updated")) or None
        st.stats = SourceStats.from_json(get(st.key("stats")))
        return st

    def save(self, writer: DatabaseWriter) -> None:
        """Write every field; call inside the batch's transaction."""
        put = writer.set_state
        put(self.key("offset"), str(self.offset))
        put(self.key("last_id"), self.last_id or "")
        put(self.key("page_size"), str(self.page_size or ""))
        put(self.key("complete"), "1" if self.complete else "0")
        put(self.key("watermark"), self.watermark or "")
        put(self.key("max_updated"), self.max_updated or "")
        put(self.key("stats"), (self.stats or SourceStats()).to_json())

    def see_updated(self, updated: str | None) -> None:
        new = parse_time(updated)
        old = parse_time(self.max_updated)
        if new is not None and (old is None or new > old):
            self.max_updated = updated
