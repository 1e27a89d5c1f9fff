#!/bin/bash
# Build the image and try it: first start without a database (says what is missing); then the
# Docker lines of docs/releases.md as written there (docker/doc_commands.py reads them; only the
# names, the port and the placeholders are this run's): `docker run -d ...` with a release index
# (downloads the demo database as a signed release), /health, identify the demo picture and a
# scene read from a Stash stand-in (the video through the container's ffmpeg), `docker exec ... db
# update`, `docker exec ... db rollback`, `docker run --rm ... db check`; the container's
# HEALTHCHECK; the image as another uid (Unraid's `--user 99:100`); and, where `docker compose` or
# docker-compose exists, docker/compose.yml with a Stash stand-in in the place of Stash: the Stash
# container calls http://stash-sense:5000 as the plugin's task does.
#
# Needs a running Docker engine, Debian's debootstrap, ffmpeg and the dev install (the Stash
# stand-in is stash_sense_devkit); no container registry: the base image is made from Debian
# packages, and the containers reach this machine's stand-ins at the docker0 bridge's address.
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
    "setuptools>=77" wheel
"$PY" -m pip wheel --quiet --no-deps -w docker/wheelhouse \
    "$(grep -o "\"$SOURCE_ONLY==[^\"]*\"" pyproject.toml | tr -d '"')"

say "docker build"
start=$(date +%s)
docker build --quiet --build-arg BASE="$BASE_IMAGE" --build-arg PIP_OFFLINE=1 -t "$IMAGE" . >/dev/null
echo "built in $(( $(date +%s) - start )) s; size $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"


free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_health() {  # URL SECONDS CONTAINER
    for _ in $(seq "$2"); do curl -sf "$1/health" >/dev/null && return 0; sleep 1; done
    echo "no answer from $1/health; the container's log:" >&2
    docker logs "$3" 2>&1 | tail -20 >&2
    return 1
}
# this machine as the containers on Docker's default bridge see it: their default gateway
GATEWAY=$(docker run --rm --entrypoint python3 "$IMAGE" -c 'import socket, struct
for line in open("/proc/net/route").read().splitlines()[1:]:
    f = line.split()
    if f[1] == "00000000":
        print(socket.inet_ntoa(struct.pack("<L", int(f[2], 16))))
        break')
[ -n "$GATEWAY" ]
KEY=smoke-key
CONTAINER=stash-sense-smoke
VOLUME=stash-sense-smoke
PROJECT=stash-sense-smoke
HOST_PID= STASH_PID= COMPOSE=
cleanup() {
    docker rm -f "$CONTAINER" "$CONTAINER-empty" "$CONTAINER-uid" >/dev/null 2>&1 || true
    docker volume rm "$VOLUME" "$VOLUME-empty" >/dev/null 2>&1 || true
    if [ -n "$COMPOSE" ]; then
        $COMPOSE -p "$PROJECT" -f "$WORK/compose/compose.yml" down -v >/dev/null 2>&1 || true
    fi
    [ -z "$HOST_PID" ] || kill "$HOST_PID" 2>/dev/null || true
    [ -z "$STASH_PID" ] || kill "$STASH_PID" 2>/dev/null || true
    rm -rf "$WORK/standin"
}
trap cleanup EXIT

say "demo database as a signed release on a local release host"
rm -rf "$WORK/release" && mkdir -p "$WORK/release"
"$PY" -m stash_sense.cli.app db enroll --db "$WORK/release/src" src/stash_sense/demo_data/faces >/dev/null
# keys.json is what `db keygen` prints, saved as it is (docs/releases.md)
"$PY" -m stash_sense.cli.app db keygen --out "$WORK/release/key" >"$WORK/release/keys.json" 2>/dev/null
"$PY" -m stash_sense.cli.app db package --db "$WORK/release/src" --out "$WORK/release/out" \
    --key "$WORK/release/key" --version 1.0 >/dev/null
HOST_PORT=$(free_port)
"$PY" tests/release/releasehost.py "$WORK/release/out" --host "$GATEWAY" --port "$HOST_PORT" \
    --log "$WORK/host.log" &
HOST_PID=$!
INDEX="http://$GATEWAY:$HOST_PORT/index.json"

say "a Stash stand-in with one scene of the demo people (scene 1: a video, no sprite)"
rm -rf "$WORK/scenes" && mkdir -p "$WORK/scenes"
"$PY" -c 'import sys; from pathlib import Path; from stash_sense_devkit.synth import compose_video
q = Path("src/stash_sense/demo_data/queries")
compose_video([[q / "photo-richard-gere.jpg"], [], [q / "frame-yao-ming.jpg"]], Path(sys.argv[1]))' \
    "$WORK/scenes/scene-1/scene.mp4"
STASH_PORT=$(free_port)
"$PY" -m stash_sense_devkit.cli stash --scenes "$WORK/scenes" --host "$GATEWAY" --port "$STASH_PORT" \
    2>"$WORK/stash.log" &
STASH_PID=$!
for _ in $(seq 60); do
    curl -sf -o /dev/null -H "Content-Type: application/json" -d '{"query":"{__typename}"}' \
        "http://$GATEWAY:$STASH_PORT/graphql" && break
    sleep 1
done

scene_names() {  # SIDECAR_URL: identify scene 1 and print "source: best match, ..."
    curl -s -H "X-API-Key: $KEY" -H "Content-Type: application/json" -d '{"scene_id": "1"}' \
        "$1/identify/scene" | "$PY" -c 'import json,sys; r=json.load(sys.stdin)
print(r.get("source", r), ", ".join(p["matches"][0]["name"] for p in r.get("persons", []) if p["matches"]), sep=": ")'
}

say "first start without a database or release index"
EMPTY_PORT=$(free_port)
docker run -d --name "$CONTAINER-empty" -p "127.0.0.1:$EMPTY_PORT:5000" -v "$VOLUME-empty:/data" \
    "$IMAGE" >/dev/null
wait_health "http://127.0.0.1:$EMPTY_PORT" 120 "$CONTAINER-empty"
docker logs "$CONTAINER-empty" 2>&1 | grep -E "database|stash-sense:" | head -5 || true
curl -s "http://127.0.0.1:$EMPTY_PORT/health" | "$PY" -c 'import json,sys; h=json.load(sys.stdin); print("health:", h["status"], h["database"])'
docker rm -f "$CONTAINER-empty" >/dev/null

say "the Docker lines of docs/releases.md, as written there"
PORT=$(free_port)
"$PY" docker/doc_commands.py --image "$IMAGE" --container "$CONTAINER" --volume "$VOLUME" \
    --port "$PORT" --keys "$WORK/release/keys.json" --stash-url "http://$GATEWAY:$STASH_PORT" \
    --api-key "$KEY" --index "$INDEX" >"$WORK/documented.txt"
mapfile -t DOCUMENTED <"$WORK/documented.txt"
printf '  %s\n' "${DOCUMENTED[@]}"
[ "${#DOCUMENTED[@]}" -ge 2 ] && [[ "${DOCUMENTED[0]}" == "docker run -d "* ]]
SIDECAR="http://127.0.0.1:$PORT"

say "${DOCUMENTED[0]%% -v*} ...: first start with a release index: download, check, serve"
eval "${DOCUMENTED[0]}" >/dev/null
wait_health "$SIDECAR" 180 "$CONTAINER"
docker logs "$CONTAINER" 2>&1 | grep -E "stash-sense|installed|complete|database" | head -5 || true
curl -s "$SIDECAR/health" | "$PY" -c 'import json,sys; h=json.load(sys.stdin); print("health:", h["status"], h["database"], "newer database:", h.get("database_update_available"))'
curl -s -H "X-API-Key: $KEY" "$SIDECAR/status" | "$PY" -c 'import json,sys; h=json.load(sys.stdin); print("status: performers", h["database"].get("performers"), "update", h.get("database_update"))'
picture=src/stash_sense/demo_data/queries/photo-richard-gere.jpg
answer=$(curl -s -H "X-API-Key: $KEY" -H "Content-Type: image/jpeg" --data-binary "@$picture" \
    "$SIDECAR/identify")
name=$(echo "$answer" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["faces"][0]["matches"][0]["name"])')
echo "identify $picture: $name"
[ "$name" = "Richard Gere" ]
scene=$(scene_names "$SIDECAR")
echo "identify scene 1 of the Stash stand-in (STASH_SENSE_STASH_URL): $scene"
[[ "$scene" == "video: "* && "$scene" == *"Richard Gere"* && "$scene" == *"Yao Ming"* ]]

say "the documented commands after it, with a release 1.1 published"
"$PY" -m stash_sense.cli.app db package --db "$WORK/release/src" --out "$WORK/release/out" \
    --key "$WORK/release/key" --version 1.1 >/dev/null
for command in "${DOCUMENTED[@]:1}"; do
    echo "\$ $command"
    eval "$command"
done
echo "user in the container: $(docker exec "$CONTAINER" id -u)"
for _ in $(seq 60); do
    health=$(docker inspect -f '{{.State.Health.Status}}' "$CONTAINER")
    [ "$health" = starting ] || break
    sleep 2
done
echo "docker HEALTHCHECK: $health"
[ "$health" = healthy ]

say "another uid (Unraid's --user 99:100) on a /data it may write"
mkdir -p "$WORK/uid-data" && cp -r "$WORK/release/src" "$WORK/uid-data/db"
chmod -R a+rwX "$WORK/uid-data"
UID_PORT=$(free_port)
docker run -d --name "$CONTAINER-uid" --user 99:100 -p "127.0.0.1:$UID_PORT:5000" \
    -e STASH_SENSE_API_KEY="$KEY" -v "$WORK/uid-data:/data" "$IMAGE" >/dev/null
wait_health "http://127.0.0.1:$UID_PORT" 120 "$CONTAINER-uid"
curl -s "http://127.0.0.1:$UID_PORT/health" | "$PY" -c 'import json,sys; h=json.load(sys.stdin); print("health as uid 99:", h["status"], h["database"]); assert h["status"] == "ok"'
docker rm -f "$CONTAINER-uid" >/dev/null
rm -rf "$WORK/uid-data" 2>/dev/null || true

if docker compose version >/dev/null 2>&1; then
    COMPOSE="docker compose"
elif command -v docker-compose >/dev/null; then
    COMPOSE=docker-compose
fi
if [ -z "$COMPOSE" ]; then
    say "docker/compose.yml: skipped (neither docker compose nor docker-compose here)"
    say "smoke test passed"
    exit 0
fi
say "docker/compose.yml ($COMPOSE), a Stash stand-in in the place of stashapp/stash"
# the stand-in: this image with stash_sense_devkit, serving the scenes from Stash's /data volume
rm -rf "$WORK/standin" && mkdir -p "$WORK/standin"
cp -r devkit/src "$WORK/standin/devkit"
"$PY" -m pip download --quiet --no-deps --only-binary=:all: -d "$WORK/standin" \
    "$(grep -o '"graphql-core==[^"]*"' devkit/pyproject.toml | tr -d '"')"
cat >"$WORK/standin/Dockerfile" <<DOCKERFILE
FROM $IMAGE
USER root
COPY . /standin/
RUN pip install --quiet --no-index --no-deps /standin/graphql_core-*.whl
ENV PYTHONPATH=/standin/devkit
ENTRYPOINT ["python3", "-m", "stash_sense_devkit.cli", "stash", "--scenes", "/data", "--host", "0.0.0.0", "--port", "9999"]
DOCKERFILE
docker build --quiet -t "$IMAGE-stash" "$WORK/standin" >/dev/null
rm -rf "$WORK/standin"  # a copy of the package under bench/ would be a second one to mypy
# docker/compose.yml as a user edits it: the release index and keys lines uncommented, and here
# the images of this run and free ports on this machine (each change checked to have happened)
rm -rf "$WORK/compose" 2>/dev/null || docker run --rm --user 0 --entrypoint rm -v "$WORK:/w" "$IMAGE" -rf /w/compose
mkdir -p "$WORK/compose/stash/data"
cp -r "$WORK/scenes/scene-1" "$WORK/compose/stash/data/"
cp "$WORK/release/keys.json" "$WORK/compose/keys.json"
STASH_HOST_PORT=$(free_port) COMPOSE_PORT=$(free_port)
"$PY" - docker/compose.yml "$WORK/compose/compose.yml" <<PYTHON
import sys
text = open(sys.argv[1], encoding="utf-8").read()
for old, new in [
    ("image: stashapp/stash:latest", "image: $IMAGE-stash"),
    ("image: stash-sense:latest", "image: $IMAGE"),
    ('"9999:9999"', '"127.0.0.1:$STASH_HOST_PORT:9999"'),
    ('"127.0.0.1:5000:5000"', '"127.0.0.1:$COMPOSE_PORT:5000"'),
    ("# - STASH_SENSE_RELEASE_INDEX=https://example.org/stash-sense/index.json",
     "- STASH_SENSE_RELEASE_INDEX=$INDEX"),
    ("# - STASH_SENSE_RELEASE_KEYS=", "- STASH_SENSE_RELEASE_KEYS="),
    ("# - ./keys.json:/keys/keys.json:ro", "- ./keys.json:/keys/keys.json:ro"),
]:
    if text.count(old) != 1:
        sys.exit(f"docker/compose.yml: {old!r} is not there once: update docker/smoke-test.sh")
    text = text.replace(old, new)
open(sys.argv[2], "w", encoding="utf-8").write(text)
PYTHON
COMPOSE_KEY=$(sed -n 's/^ *- STASH_SENSE_API_KEY=\([^ ]*\).*/\1/p' docker/compose.yml)
$COMPOSE -p "$PROJECT" -f "$WORK/compose/compose.yml" up -d 2>&1 | tail -3
wait_health "http://127.0.0.1:$COMPOSE_PORT" 180 \
    "$($COMPOSE -p "$PROJECT" -f "$WORK/compose/compose.yml" ps -q stash-sense)"
# what the plugin's task does from the Stash server: call the Sidecar URL the compose file names
sidecar_url=$(grep -o 'Sidecar URL http://[^ ]*' docker/compose.yml | cut -d' ' -f3)
echo "from the Stash container, $sidecar_url:"
$COMPOSE -p "$PROJECT" -f "$WORK/compose/compose.yml" exec -T stash python3 - "$sidecar_url" "$COMPOSE_KEY" <<'PYTHON'
import json, sys, urllib.request

url, key = sys.argv[1], sys.argv[2]
health = json.load(urllib.request.urlopen(url + "/health", timeout=30))
print("  /health:", health["status"], health["database"])
request = urllib.request.Request(url + "/identify/scene", data=b'{"scene_id": "1"}',
                                 headers={"X-API-Key": key, "Content-Type": "application/json"})
scene = json.load(urllib.request.urlopen(request, timeout=300))
names = [p["matches"][0]["name"] for p in scene["persons"] if p["matches"]]
print("  /identify/scene 1 (read from http://stash:9999):", scene["source"], names)
assert health["status"] == "ok" and "Richard Gere" in names, (health, scene)
PYTHON
# the page at the address the compose file says the browser opens Stash at (CORS)
origin=$(sed -n 's/^ *- STASH_SENSE_CORS_ORIGINS=\([^ ]*\).*/\1/p' docker/compose.yml)
allowed=$(curl -s -o /dev/null -D - -X OPTIONS -H "Origin: $origin" \
    -H "Access-Control-Request-Method: POST" -H "Access-Control-Request-Headers: x-api-key" \
    "http://127.0.0.1:$COMPOSE_PORT/identify" | tr -d '\r' | sed -n 's/^access-control-allow-origin: //Ip')
echo "CORS preflight from $origin: allowed origin ${allowed:-none}"
[ "$allowed" = "$origin" ]
$COMPOSE -p "$PROJECT" -f "$WORK/compose/compose.yml" down -v >/dev/null 2>&1
say "smoke test passed"
