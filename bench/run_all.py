"""Runs every benchmark under bench/ in turn and prints where each wrote its figures."""

from __future__ import annotations

import runpy
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ORDER = [
    "bench_embedders",
    "bench_accuracy",
    "bench_cli_protocol",
    "bench_subject",
    "bench_speed",
    "bench_voyager",
    "bench_cli_startup",
    "bench_build",
    "bench_scene",
    "bench_sidecar",
    "bench_release",
    "bench_suggestions",
    "bench_library",
]


def main(argv: list[str]) -> int:
    wanted = argv or ORDER
    failed: list[str] = []
    for name in wanted:
        script = BENCH_DIR / f"{name}.py"
        if not script.exists():
            print(f"-- {name}: not present, skipped")
            continue
        print(f"== {name}")
        started = time.perf_counter()
        try:
            runpy.run_path(str(script), run_name="__main__")
        except SystemExit as stop:
            if stop.code not in (0, None):
                failed.append(name)
        except Exception as error:  # a failing benchmark must not hide the others' figures
            print(f"!! {name} failed: {error}")
            failed.append(name)
        print(f"-- {name}: {time.perf_counter() - started:.1f} s")
    if failed:
        print("failed: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
