"""What a build is asked to do (`BuildOptions`), what it did (`BuildResult`), how it stops."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stash_sense.builder.progress import OnProgress
from stash_sense.sources.endpoints import EndpointConfig


class BuildError(Exception):
    """The build stopped; `str()` is one clear line. Committed progress is kept for resuming."""


class BuildIncomplete(BuildError):
    """The source stayed unreachable: the pass stopped with work left for the next run."""


@dataclass
class BuildOptions:
    db: Path
    endpoint: EndpointConfig
    limit: int | None = None  # build at most the source's first N performers (in total)
    keep_images: bool = False
    full: bool = False  # start a new full pass instead of resuming / updating
    batch_size: int = 100
    commit_every_s: float = 2.0
    embed_threads: int | None = None
    window: int | None = None  # performers in flight; default 4 pages' worth
    on_progress: OnProgress | None = None  # None: a log line every 10 s (progress.LogProgress)
    overlap_s: float = 3600.0  # changes are read from this far before the pass or watermark
    page_retries: int = 2  # extra tries for a malformed page before the sweep fills it in
    patience_s: float = 300.0  # how long a source may fail (5xx, timeouts) before the run stops
    retry_rounds: int = 2  # rounds of retrying the ledger's images at the end of a pass
    retry_wait_s: float = 20.0  # pause before each round (lets an outage pass)
    give_up_runs: int = 3  # an image failing in this many separate runs is skipped for good


@dataclass
class BuildResult:
    generation: Path | None
    mode: str  # "full" | "incremental"
    written: int  # performers written by this run
    complete: bool  # the pass finished with nothing left to retry
    pending: int  # images that failed for now and wait for the next run
    stats: dict[str, Any]
    requests: int
    elapsed_s: float
