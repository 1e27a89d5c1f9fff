"""Where the benchmarks find the evaluation data: ../shared/eval beside the repository.

Only benchmarks read it (the tests use the small subset in tests/data); each benchmark that needs
it calls `require_eval()` first, which stops with a clear message when the folder is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_EVAL = ROOT.parent / "shared" / "eval"
FACES = SHARED_EVAL / "faces"
SCENES = SHARED_EVAL / "scenes"


def enrolment_folder(dest: Path, identities: Iterable[Path]) -> int:
    """DEST/<name>/0.jpg for each identity folder (its 0.jpg, else its first photo; underscores
    in the name become spaces), the layout `stash-sense db enroll` reads; the number written."""
    count = 0
    for folder in identities:
        first = folder / "0.jpg" if (folder / "0.jpg").exists() else sorted(folder.glob("*.jpg"))[0]
        target = dest / folder.name.replace("_", " ")
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(first, target / "0.jpg")
        count += 1
    return count


def require_eval() -> None:
    """Stop the benchmark (exit status 2) when ../shared/eval is not beside the repository."""
    if not FACES.is_dir():
        raise SystemExit(
            f"error: this benchmark needs the evaluation data at {SHARED_EVAL} (../shared/eval "
            "beside the repository: LFW faces and scenes, see its README); it is missing"
        )
