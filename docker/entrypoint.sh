#!/bin/sh
# First start: check that the models and the database are complete and say exactly what is
# missing; download the database when a release index is configured; then serve.
# Any other command runs as `stash-sense <command>` (e.g. `db update`, `db rollback`).
set -eu
db="${STASH_SENSE_DB:-/data/db}"
if [ "$#" -gt 0 ] && [ "$1" != serve ]; then
    exec stash-sense "$@"
fi
[ "$#" -gt 0 ] && shift
mkdir -p "${STASH_SENSE_DATA_DIR:-/data/state}"

status=0
stash-sense db check --db "$db" || status=$?
if [ "$status" -eq 2 ]; then
    echo "stash-sense: the face models above are missing or damaged; this image is broken, pull or build it again" >&2
    exit 2
fi
if [ "$status" -eq 1 ]; then
    if [ -n "${STASH_SENSE_RELEASE_INDEX:-}" ] && [ "${STASH_SENSE_AUTO_DOWNLOAD:-yes}" = yes ]; then
        echo "stash-sense: downloading the newest face database from $STASH_SENSE_RELEASE_INDEX" >&2
        if stash-sense db update --db "$db"; then
            stash-sense db check --db "$db" || true
        else
            echo "stash-sense: the download failed (it resumes next time); serving without a database, POST /database/update retries" >&2
        fi
    else
        echo "stash-sense: no usable database at $db: set STASH_SENSE_RELEASE_INDEX to download one, or put a database folder there; serving without one (/health says degraded)" >&2
    fi
fi
# host, port and the rest come from the STASH_SENSE_* variables (docs/configuration.md)
exec stash-sense serve --db "$db" "$@"
