"""What the routes share: settings, engine, database holder, job gate, feedback, Stash client."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from stash_sense.app.feedback import FeedbackOff, FeedbackStore, open_feedback
from stash_sense.app.recognizer import FaceEngine, RecognizerHolder, load_engine
from stash_sense.app.stash import StashClient, connect_stash
from stash_sense.sidecar.config import SidecarConfig
from stash_sense.sidecar.jobs import JobGate

log = logging.getLogger("stash_sense.sidecar")


@dataclass
class Services:
    config: SidecarConfig
    engine: FaceEngine
    holder: RecognizerHolder
    gate: JobGate
    feedback: FeedbackStore | FeedbackOff
    stash: StashClient | None
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def start(cls, config: SidecarConfig, engine: FaceEngine | None = None) -> Services:
        """Load the models and the database (a database failing to load is reported)."""
        engine = load_engine(engine)
        holder = RecognizerHolder(engine, config.db)
        holder.load()
        feedback = open_feedback(config.feedback_path, config.feedback_max_bytes)
        if isinstance(feedback, FeedbackOff):
            log.warning("starting without feedback: %s", feedback.reason)
        return cls(
            config=config,
            engine=engine,
            holder=holder,
            gate=JobGate(config.workers, config.queue),
            feedback=feedback,
            stash=connect_stash(config.stash_url, config.stash_api_key_value),
        )

    def close(self) -> None:
        self.gate.close()
        self.holder.close()
        self.feedback.close()
        if self.stash is not None:
            self.stash.close()
