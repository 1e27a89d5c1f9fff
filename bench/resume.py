"""One resumable loop for the bench embedding caches: rows done so far are kept in a partial file.

bench/face_cache.py, bench/scale_faces.py and bench/graph_faces.py each analyse thousands of
photos (tens of minutes on 2 cores); a run stopped halfway continues where it stopped. Each gives
its arrays (one row per photo) and a function filling row i; this module keeps the `done` flags,
saves every `every` rows and prints the rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def run_resumable(
    partial: Path,
    arrays: dict[str, np.ndarray],
    step: Callable[[int], None],
    *,
    label: str,
    every: int = 200,
) -> dict[str, np.ndarray]:
    """Call `step(i)` for every row i not done yet (it fills `arrays` in place), resuming from
    `partial` when it holds arrays of the same rows; the arrays are saved with their `done` flags
    every `every` rows and at the end. A row counts as done before its step runs, so a photo that
    fails is not retried forever. Returns the arrays, filled (the partial file is left for the
    caller to remove once the final file is written)."""
    n = len(next(iter(arrays.values())))
    done = np.zeros(n, bool)
    if partial.is_file():
        with np.load(partial) as old:
            if old["done"].shape == (n,) and all(k in old.files for k in arrays):
                arrays.update({k: old[k].copy() for k in arrays})
                done = old["done"].copy()
    todo = np.nonzero(~done)[0]
    started = time.perf_counter()
    for count, i in enumerate(todo, 1):
        done[i] = True
        step(int(i))
        if count % every == 0 or count == len(todo):
            np.savez(partial, done=done, **arrays)  # type: ignore[arg-type]
            rate = count / (time.perf_counter() - started)
            print(f"{label}: {count}/{len(todo)} ({rate:.1f} images/s)", flush=True)
    return arrays


def partial_rows(partial: Path) -> np.ndarray | None:
    """The `done` flags of a partial file (None when there is none)."""
    if not partial.is_file():
        return None
    with np.load(partial) as data:
        return np.asarray(data["done"]).copy()
