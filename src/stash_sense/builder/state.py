"""The builder's resume state, kept in the staging database's `state` table and written in the
same transaction as the performers it describes (so a kill -9 never leaves them out of step)."""

from __future__ import annotations

from dataclasses import dataclass

from stash_sense.database import DatabaseWriter


@dataclass
class BuildState:
    """Where a source's build stands."""

    source: str
    offset: int = 0  # performers of the full pass written, in the source's paging order
    last_id: str | None = None  # the last one written (to realign after deletions upstream)
    page_size: int | None = None
    complete: bool = False  # a full pass has finished with nothing left to retry
    pass_started: str | None = None  # when the full pass under way began (ISO, UTC)
    watermark: str | None = None  # when the last finished pass began reading changes

    def key(self, name: str) -> str:
        return f"builder:{self.source}:{name}"

    @classmethod
    def load(cls, writer: DatabaseWriter, source: str) -> BuildState:
        st = cls(source)
        get = writer.crawl.get_state
        st.offset = int(get(st.key("offset")) or 0)
        st.last_id = get(st.key("last_id")) or None
        size = get(st.key("page_size"))
        st.page_size = int(size) if size else None
        st.complete = get(st.key("complete")) == "1"
        st.pass_started = get(st.key("pass_started")) or None
        st.watermark = get(st.key("watermark")) or None
        return st

    def save(self, writer: DatabaseWriter) -> None:
        """Write every field; call inside the batch's transaction."""
        put = writer.crawl.set_state
        put(self.key("offset"), str(self.offset))
        put(self.key("last_id"), self.last_id or "")
        put(self.key("page_size"), str(self.page_size or ""))
        put(self.key("complete"), "1" if self.complete else "0")
        put(self.key("pass_started"), self.pass_started or "")
        put(self.key("watermark"), self.watermark or "")
