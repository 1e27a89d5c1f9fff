"""Ed25519 release keys: make a key pair, sign a manifest, check it against the trusted keys.

The project's public keys ship in `keys.json` beside this module, as a list: a new key is added
before the old one is retired, and releases of the overlap carry both signatures.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from stash_sense.release.errors import ReleaseError


def key_id(public_key: bytes) -> str:
    """A short, stable name of a public key: the first 16 hex digits of its sha256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def canonical_json(data: Any) -> bytes:
    """The bytes a signature covers: sorted keys, no spaces, ASCII only."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def generate_key(path: Path) -> dict[str, str]:
    """Write a new private key to `path` (mode 0600, never overwritten); return its public entry."""
    signing = SigningKey.generate()
    public = bytes(signing.verify_key)
    entry = {"key_id": key_id(public), "public_key": base64.b64encode(public).decode()}
    secret = {**entry, "private_key": base64.b64encode(bytes(signing)).decode()}
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ReleaseError(f"{path} exists: a key is never overwritten") from None
    except OSError as err:
        raise ReleaseError(f"cannot write {path}: {err.strerror or err}") from None
    with os.fdopen(fd, "w") as f:
        json.dump(secret, f, indent=2)
        f.write("\n")
    return entry


def load_signing_key(path: Path) -> SigningKey:
    """The private key `db keygen` wrote."""
    try:
        data = json.loads(path.read_text())
        return SigningKey(base64.b64decode(data["private_key"], validate=True))
    except FileNotFoundError:
        raise ReleaseError(f"no signing key at {path}") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ReleaseError(f"{path} is not a stash-sense signing key: {err}") from None


def sign(manifest: Mapping[str, Any], signing: SigningKey) -> dict[str, str]:
    """One signature entry over the manifest's canonical JSON."""
    signature = signing.sign(canonical_json(manifest)).signature
    return {
        "key_id": key_id(bytes(signing.verify_key)),
        "signature": base64.b64encode(signature).decode(),
    }


def _parse_keys(data: Any, where: str) -> dict[str, VerifyKey]:
    """Keys from `{"keys": [entry, ...]}`, `[entry, ...]` or one entry as `db keygen` prints it."""
    if isinstance(data, dict) and "public_key" in data:
        data = [data]
    entries = data.get("keys") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ReleaseError(f"{where}: expected a list of keys")
    out: dict[str, VerifyKey] = {}
    for entry in entries:
        try:
            public = base64.b64decode(entry["public_key"], validate=True)
            verify = VerifyKey(public)
        except (KeyError, TypeError, ValueError) as err:
            raise ReleaseError(f"{where}: a key entry is malformed: {err}") from None
        out[key_id(public)] = verify
    return out


def project_keys() -> dict[str, VerifyKey]:
    """The public keys shipped with this program."""
    text = resources.files("stash_sense.release").joinpath("keys.json").read_text()
    return _parse_keys(json.loads(text), "the shipped keys.json")


def trusted_keys(extra: Path | None = None) -> dict[str, VerifyKey]:
    """The shipped keys plus those of `extra` (a keys.json of the same shape), by key id."""
    keys = project_keys()
    if extra is not None:
        try:
            data = json.loads(Path(extra).read_text())
        except (OSError, ValueError) as err:
            raise ReleaseError(f"cannot read the keys file {extra}: {err}") from None
        keys.update(_parse_keys(data, str(extra)))
    return keys


def verify(envelope: Any, trusted: Mapping[str, VerifyKey]) -> dict[str, Any]:
    """The manifest of a signed envelope `{manifest, signatures}` when a trusted key signed it."""
    if not isinstance(envelope, dict) or not isinstance(envelope.get("manifest"), dict):
        raise ReleaseError("the release manifest is malformed")
    manifest: dict[str, Any] = envelope["manifest"]
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        raise ReleaseError("the release manifest is not signed")
    if not trusted:
        raise ReleaseError(
            "no trusted release keys: give the publisher's keys.json "
            "(--keys, or STASH_SENSE_RELEASE_KEYS for the sidecar and the container)"
        )
    message = canonical_json(manifest)
    unknown: list[str] = []
    for entry in signatures:
        kid = str(entry.get("key_id", "")) if isinstance(entry, dict) else ""
        verify_key = trusted.get(kid)
        if verify_key is None:
            unknown.append(kid or "?")
            continue
        try:
            verify_key.verify(message, base64.b64decode(str(entry.get("signature", ""))))
        except (BadSignatureError, ValueError):
            raise ReleaseError(f"the release manifest's signature by key {kid} is wrong") from None
        return manifest
    raise ReleaseError(f"the release manifest is signed by unknown key(s): {', '.join(unknown)}")
