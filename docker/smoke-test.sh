#!/bin/bash
# Build the image and try it: first start without a database (says what is missing), first start
# with a release index (downloads the demo database as a signed release), /health, identify the
# demo picture, the documented `docker exec ... db update`, `docker exec ... db rollback` and
# `docker run --rm ... db check` (docs/releases.md), the container's HEALTHCHECK. Needs a running Docker engine and Debian's
# debootstrap; no container registry: the base image is made from Debian packages.
#
#   bash docker/smoke-test.sh            # from the repository root
#
# Not part of `make test` (CI does not depend on Docker).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
BASE_IMAGE=${BASE_IMAGE:-stash-sense-base:bookworm}
IMAGE=${IMAGE:-stash-sense:smoke}
WORK=${WORK:-bench/work/docker-smoke}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

say() { printf '\n== %s\n' "$*"; }

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    say "base image $BASE_IMAGE from Debian packages (debootstrap, minbase)"
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase bookworm "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log"
    rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/lib/apt/lists/*
    tar -C "$WORK/rootfs" -c . | docker import - "$BASE_IMAGE"
    rm -rf "$WORK/rootfs"
fi

say "wheels for the build (docker/wheelhouse, so the build needs no PyPI)"
# face-recognition-models publishes a source archive of model files only (nothing to compile): a
# wheel is made from it here; every other dependency must come as a ready wheel
SOURCE_ONLY="face-recognition-models"
"$PY" -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml","rb"))["project"]["dependencies"]))' \
    | grep -v "^$SOURCE_ONLY==" >"$WORK/requirements.txt"
"$PY" -m pip download --quiet --only-binary=:all: -d docker/wheelhouse -r "$WORK/requirements.txt" \
    "setuptools>=68" wheel
"$PY" -m pip wheel --quiet --no-deps -w docker/wheelhouse \
    "$(grep -o "\"$SOURCE_ONLY==[^\"]*\"" pyproject.toml | tr -d '"')"

say "docker build"
start=$(date +%s)
docker build --quiet --build-arg BASE="$BASE_IMAGE" --build-arg PIP_OFFLINE=1 -t "$IMAGE" . >/dev/null
echo "built in $(( $(date +%s) - start )) s; size $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"

say "demo database as a signed release on a local release host"
rm -rf "$WORK/release" && mkdir -p "$WORK/release"
"$PY" -m stash_sense.cli.app db enroll --db "$WORK/release/src" src/stash_sense/demo_data/faces >/dev/null
# keys.json is what `db keygen` prints, saved as it is (docs/releases.md)
"$PY" -m stash_sense.cli.app db keygen --out "$WORK/release/key" >"$WORK/release/keys.json" 2>/dev/null
"$PY" -m stash_sense.cli.app db package --db "$WORK/release/src" --out "$WORK/release/out" \
    --key "$WORK/release/key" --version 1.0 >/dev/null
HOST_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$PY" tests/release/releasehost.py "$WORK/release/out" --port "$HOST_PORT" --log "$WORK/host.log" &
HOST_PID=$!
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
    docker rm -f stash-sense-smoke stash-sense-smoke-empty >/dev/null 2>&1 || true
    docker volume rm stash-sense-smoke stash-sense-smoke-empty >/dev/null 2>&1 || true
    kill "$HOST_PID" 2>/dev/null || true
}
trap cleanup EXIT

say "first start without a database or release index"
docker run -d --name stash-sense-smoke-empty --network host -e STASH_SENSE_PORT="$((PORT + 1))" \
    -v stash-sense-smoke-empty:/data "$IMAGE" >/dev/null
for _ in $(seq 120); do curl -sf "http://127.0.0.1:$((PORT + 1))/health" >/dev/null && break; sleep 1; done
docker logs stash-sense-smoke-empty 2>&1 | grep -E "database|stash-sense:" | head -5 || true
curl -s "http://127.0.0.1:$((PORT + 1))/health" | "$PY" -c 'import json,sys; h=json.load(sys.stdin); print("health:", h["status"], h["database"])'
docker rm -f stash-sense-smoke-empty >/dev/null

say "first start with a release index: download, check, serve"
docker run -d --name stash-sense-smoke --network host \
    -e STASH_SENSE_PORT="$PORT" -e STASH_SENSE_API_KEY=smoke-key \
    -e STASH_SENSE_RELEASE_INDEX="http://127.0.0.1:$HOST_PORT/index.json" \
    -e STASH_SENSE_RELEASE_KEYS=/keys/keys.json -v "$WORK/release/keys.json:/keys/keys.json:ro" \
    -v stash-sense-smoke:/data "$IMAGE" >/dev/null
for _ in $(seq 180); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 1; done
docker logs stash-sense-smoke 2>&1 | grep -E "stash-sense|installed|complete|database" | head -5 || true
curl -s "http://127.0.0.1:$PORT/health" | "$PY" -c 'import json,sys; h=json.load(sys.stdin); print("health:", h["status"], h["database"], "newer database:", h.get("database_update_available"))'
curl -s -H "X-API-Key: smoke-key" "http://127.0.0.1:$PORT/status" | "$PY" -c 'import json,sys; h=json.load(sys.stdin); print("status: performers", h["database"].get("performers"), "update", h.get("database_update"))'
picture=src/stash_sense/demo_data/queries/photo-richard-gere.jpg
answer=$(curl -s -H "X-API-Key: smoke-key" -H "Content-Type: image/jpeg" --data-binary "@$picture" \
    "http://127.0.0.1:$PORT/identify")
name=$(echo "$answer" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["faces"][0]["matches"][0]["name"])')
echo "identify $picture: $name"
[ "$name" = "Richard Gere" ]

say "the documented commands: docker exec ... db update / db rollback, docker run --rm ... db check"
"$PY" -m stash_sense.cli.app db package --db "$WORK/release/src" --out "$WORK/release/out" \
    --key "$WORK/release/key" --version 1.1 >/dev/null
docker exec stash-sense-smoke stash-sense db update
docker exec stash-sense-smoke stash-sense db rollback
docker exec stash-sense-smoke stash-sense db check
docker run --rm --network host -v stash-sense-smoke:/data "$IMAGE" db check
echo "user in the container: $(docker exec stash-sense-smoke id -u)"
for _ in $(seq 60); do
    health=$(docker inspect -f '{{.State.Health.Status}}' stash-sense-smoke)
    [ "$health" = starting ] || break
    sleep 2
done
echo "docker HEALTHCHECK: $health"
[ "$health" = healthy ]
say "smoke test passed"
