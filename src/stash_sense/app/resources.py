"""What the machine lends the use cases: the user's cap on the cores face work may use, the device
the face networks run on, and the folder where models are fetched and converted."""

from __future__ import annotations

from pathlib import Path

from stash_sense.faces.cores import allow_cores
from stash_sense.faces.embedders.runtime import Device, use_device
from stash_sense.models import use_models_dir

__all__ = ["limit_cores", "run_networks_on", "use_models_folder"]


def limit_cores(cores: int | None) -> None:
    """Face work in this process (every engine, build and scene made afterwards) uses at most
    `cores` cores; None lifts the user's cap (the process's CPU affinity, at most 4)."""
    allow_cores(cores)


def run_networks_on(device: Device) -> None:
    """Every face network made afterwards in this process runs on `device` (STASH_SENSE_DEVICE):
    "auto", "cpu" or "gpu" (faces/embedders/runtime.py)."""
    use_device(device)


def use_models_folder(folder: Path) -> None:
    """Every engine of this process finds fetched models (and keeps dlib's converted network) in
    `folder` (STASH_SENSE_MODELS), not only `stash-sense models fetch`."""
    use_models_dir(folder)
