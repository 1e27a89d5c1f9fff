"""Where the benchmarks find the evaluation data: ../shared/eval beside the repository.

Only benchmarks read it (the tests use the small subset in tests/data); each benchmark that needs
it calls `require_eval()` first, which stops with a clear message when the folder is missing.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_EVAL = ROOT.parent / "shared" / "eval"
FACES = SHARED_EVAL / "faces"
SCENES = SHARED_EVAL / "scenes"


def require_eval() -> None:
    """Stop the benchmark (exit status 2) when ../shared/eval is not beside the repository."""
    if not FACES.is_dir():
        raise SystemExit(
            f"error: this benchmark needs the evaluation data at {SHARED_EVAL} (../shared/eval "
            "beside the repository: LFW faces and scenes, see its README); it is missing"
        )
