"""Library scan tests: the small enrolled face database, opened once per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stash_sense.app.recognizer import Recognizer, open_recognizer


@pytest.fixture(scope="module")
def recognizer(test_db: dict[str, Any]) -> Iterator[Recognizer]:
    with open_recognizer(Path(test_db["db"])) as found:
        yield found
