"""Database releases: package and sign (maintainers); check, download, install, roll back (users).

Sits after `stash_sense.database` in the layer order and uses only it (and httpx, PyNaCl).
"""

from stash_sense.release.archive import DEFAULT_PART_SIZE
from stash_sense.release.download import ReleaseHost
from stash_sense.release.errors import ReleaseError
from stash_sense.release.keys import generate_key, load_signing_key, trusted_keys
from stash_sense.release.package import package
from stash_sense.release.plan import Plan, installed_version, plan_update
from stash_sense.release.rollback import rollback
from stash_sense.release.update import update

__all__ = [
    "DEFAULT_PART_SIZE",
    "Plan",
    "ReleaseError",
    "ReleaseHost",
    "generate_key",
    "installed_version",
    "load_signing_key",
    "package",
    "plan_update",
    "rollback",
    "trusted_keys",
    "update",
]
