"""`db update`: download, verify and install a release (planned by `plan.py`) as a new generation.

Order of work, each step safe to interrupt: read the index; fetch and verify every signed manifest
needed; check free disk space; download the parts (resumable, kept in `DB/downloads/` until the
install succeeds); unpack and verify into `gen-N.tmp/`; rename it to `gen-N`; swap `current`
atomically (database/publish.swap_current); delete generations older than the previous one.
Until the swap, `current` names the old, complete generation; after it, the new one.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nacl.signing import VerifyKey

from stash_sense.database.canonical import export_canonical
from stash_sense.database.diff import apply_diff
from stash_sense.database.errors import DatabaseError
from stash_sense.database.layout import (
    CURRENT,
    SQLITE_NAME,
    current_generation,
    generation_name,
    generations,
)
from stash_sense.database.publish import (
    fsync_path,
    prune_generations,
    swap_current,
)
from stash_sense.release import incremental
from stash_sense.release.archive import unpack
from stash_sense.release.download import ReleaseHost
from stash_sense.release.errors import ReleaseError
from stash_sense.release.keys import verify
from stash_sense.release.manifest import (
    DELTA_NAME,
    check_manifest,
    file_entries,
    readable,
)
from stash_sense.release.plan import RELEASE_RECORD, Plan, plan_update
from stash_sense.release.rollback import update_lock

DOWNLOADS = "downloads"
MARGIN = 64 * 1024 * 1024

Report = Callable[[str, int, int], None]


class DeltaUnusable(ReleaseError):
    """The deltas do not lead to the published files here: the full release is used instead."""


def _quiet(_what: str, _done: int, _total: int) -> None:
    return None


def update(
    host: ReleaseHost,
    root: Path,
    keys: dict[str, VerifyKey],
    report: Report = _quiet,
    plan: Plan | None = None,
    pause_before_swap: float = 0.0,
) -> dict[str, Any]:
    """Install the newest readable release into the database folder `root`; returns what it did.

    `pause_before_swap` (seconds) is for fault-injection tests: a kill between the new
    generation's rename and the swap.
    """
    root = Path(root)
    if (root / "manifest.json").exists():
        raise ReleaseError(f"{root} is a single generation: pass the database folder above it")
    with update_lock(root):
        _remove_leftovers(root)
        plan = plan or plan_update(host, root)
        if not plan.steps:
            return {"updated": False, **plan.as_dict()}
        if plan.steps[0][0] == "delta":
            try:
                return _install(host, root, keys, plan, report, pause_before_swap)
            except DeltaUnusable as err:
                report(f"delta failed ({err}); downloading the full release", 0, 0)
                plan = Plan(plan.current, plan.target, [("full", plan.steps[-1][1])], plan.skipped)
        return _install(host, root, keys, plan, report, pause_before_swap)


def _install(
    host: ReleaseHost,
    root: Path,
    keys: dict[str, VerifyKey],
    plan: Plan,
    report: Report,
    pause_before_swap: float = 0.0,
) -> dict[str, Any]:
    started = time.monotonic()
    manifests = []
    for kind, entry in plan.steps:
        url = host.url(entry[kind]["manifest"])
        envelope = host.get_json(url)
        manifest = check_manifest(verify(envelope, keys), entry["version"], kind)
        # the index is not signed: what this program can read is decided by the signed manifest
        reason = readable(manifest)
        if reason is not None:
            raise ReleaseError(f"release {entry['version']} needs {reason}")
        manifests.append((url, envelope, manifest))
    current = current_generation(root)
    if plan.steps[0][0] == "delta" and (
        current is None or not incremental.is_base(current, manifests[0][2]["base"])
    ):
        raise DeltaUnusable("the installed database is not the delta's base")
    downloads = root / DOWNLOADS
    _check_space(root, downloads, [m for _u, _e, m in manifests])
    downloads.mkdir(exist_ok=True)
    total = sum(p["size"] for _u, _e, m in manifests for p in m["parts"])
    done = 0
    part_paths: list[list[Path]] = []
    for url, _envelope, manifest in manifests:
        folder = downloads / f"{manifest['version']}-{manifest['kind']}"
        folder.mkdir(exist_ok=True)
        paths = []
        for part in manifest["parts"]:
            offset = done

            def progress(have: int, offset: int = offset) -> None:
                report("download", offset + have, total)

            path = folder / part["name"]
            host.download(host.url(part["name"], url), path, part["size"], part["sha256"], progress)
            done += part["size"]
            paths.append(path)
        part_paths.append(paths)
    downloaded = time.monotonic()
    number = generations(root)[-1][0] + 1 if generations(root) else 1
    final = root / generation_name(number)
    tmp = root / f"{final.name}.tmp"
    work = downloads / "work"
    try:
        tmp.mkdir()
        report("verify", 0, len(manifests))
        if manifests[0][2]["kind"] == "full":
            manifest = manifests[0][2]
            unpack(part_paths[0], tmp, manifest["payload"])
            _check_files(tmp, manifest)
        elif incremental.wanted([m for _u, _e, m in manifests]):
            assert current is not None
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            try:  # a result that is not the signed content: the full release instead
                incremental.apply_chain(current, [m for *_, m in manifests], part_paths, work, tmp)
            except DatabaseError as err:
                raise DeltaUnusable(str(err)) from None
        else:
            assert current is not None
            _apply_chain(current / SQLITE_NAME, manifests, part_paths, work, tmp, report)
        (tmp / RELEASE_RECORD).write_text(json.dumps(manifests[-1][1], indent=2) + "\n")
        for path in tmp.iterdir():
            fsync_path(path)
        fsync_path(tmp)
        os.rename(tmp, final)
        fsync_path(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    verified = time.monotonic()
    if pause_before_swap:
        time.sleep(pause_before_swap)
    swap_current(root, final)
    swapped = time.monotonic()
    prune_generations(root, keep={final.resolve(), *([current] if current else [])})
    shutil.rmtree(downloads, ignore_errors=True)
    last = manifests[-1][2]
    return {
        "updated": True,
        **plan.as_dict(),
        "available": False,
        "installed": last["version"],
        "generation": final.name,
        "previous": current.name if current else None,  # what `db rollback` returns to
        "counts": last.get("counts", {}),
        "seconds": {
            "download": round(downloaded - started, 3),
            "verify": round(verified - downloaded, 3),
            "swap": round(swapped - verified, 4),
        },
    }


def _apply_chain(
    base: Path,
    manifests: list[tuple[str, Any, dict[str, Any]]],
    part_paths: list[list[Path]],
    work: Path,
    dest: Path,
    report: Report,
) -> None:
    """Apply each delta in turn; every intermediate result is checked against its manifest."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    for step, ((_url, _envelope, manifest), parts) in enumerate(
        zip(manifests, part_paths, strict=True)
    ):
        payload = work / f"payload-{step}"
        payload.mkdir()
        unpack(parts, payload, manifest["payload"])
        out = dest if step == len(manifests) - 1 else work / f"gen-{step}"
        applied = apply_diff(base, payload / DELTA_NAME, work / "apply.sqlite")
        export_canonical(applied, out, manifest["database"])
        applied.unlink()
        try:
            _check_files(out, manifest)
        except ReleaseError as err:
            raise DeltaUnusable(str(err)) from None
        report("verify", step + 1, len(manifests))
        base = out / SQLITE_NAME


def _check_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Every file of the generation, byte for byte as the manifest lists it, and nothing else."""
    expected = manifest["files"]
    have = file_entries(folder, [str(e["name"]) for e in expected])
    for want, got in zip(expected, have, strict=True):
        if int(want["size"]) != got["size"] or want["sha256"] != got["sha256"]:
            raise ReleaseError(
                f"{want['name']} of release {manifest['version']} differs from the published file"
            )
    extra = {p.name for p in folder.iterdir()} - {str(e["name"]) for e in expected}
    if extra:
        raise ReleaseError(f"unexpected files after unpacking: {', '.join(sorted(extra))}")


def _check_space(root: Path, downloads: Path, manifests: list[dict[str, Any]]) -> None:
    """Refuse before downloading when the parts, the unpacked files and the result do not fit."""
    last = manifests[-1]
    # a full release unpacks into the new generation; deltas also need a working copy of the
    # SQLite file and an intermediate generation
    result = sum(int(e["size"]) for e in last["files"])
    need = MARGIN + result * (3 if last["kind"] == "delta" else 1)
    for manifest in manifests:
        folder = downloads / f"{manifest['version']}-{manifest['kind']}"
        for part in manifest["parts"]:
            path = folder / part["name"]
            have = path.stat().st_size if path.exists() else 0
            need += max(0, int(part["size"]) - have)
        if manifest["kind"] == "delta":
            need += sum(int(e["size"]) for e in manifest["payload"])
    free = shutil.disk_usage(root).free
    if need > free:
        raise ReleaseError(
            f"not enough disk space in {root}: the update needs {_mib(need)} MiB, "
            f"{_mib(free)} MiB are free (nothing was downloaded)"
        )


def _mib(n: int) -> int:
    return (n + (1 << 20) - 1) >> 20


def _remove_leftovers(root: Path) -> None:
    """What an interrupted update leaves (never read): temporary generations and links."""
    for child in root.glob("gen-*.tmp"):
        shutil.rmtree(child, ignore_errors=True)
    (root / f".{CURRENT}.tmp").unlink(missing_ok=True)
    shutil.rmtree(root / DOWNLOADS / "work", ignore_errors=True)
