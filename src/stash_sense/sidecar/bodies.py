"""Reading request bodies: JSON objects and images (multipart upload, base64 JSON, a Stash URL)."""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from stash_sense.app.performer import fetch_from_stash
from stash_sense.app.stash import StashClient
from stash_sense.sidecar.errors import ApiError
from stash_sense.sidecar.multipart import read_multipart

IMAGE_FIELDS = ("image", "file")
#: Bodies a web page may send without a CORS preflight are text/plain, form-urlencoded and
#: multipart: JSON routes take only a JSON content type, so no other origin can drive them.
JSON_TYPES = ("application/json",)


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(raw: bytes) -> Any:
    """json.loads that refuses NaN/Infinity and 1e999 and reports nesting too deep, as 400."""
    try:
        return json.loads(raw, parse_float=_finite, parse_constant=_no_constants)
    except RecursionError:
        raise ApiError(400, "malformed JSON: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"malformed JSON: {str(exc)[:200]}") from None


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, or ApiError 400/415 with what is wrong with it."""
    raw = await request.body()
    if not raw.strip():
        return {}
    kind = content_type(request)
    if kind not in JSON_TYPES and not kind.endswith("+json"):
        got = kind or "none"
        raise ApiError(415, f"send JSON with Content-Type: application/json (got {got!r})")
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise ApiError(400, "the JSON body must be an object")
    return body


@dataclass
class ImageInput:
    """The bytes of one image to identify, a name to report it by, and options from the body."""

    name: str
    data: bytes | None
    url: str | None
    options: dict[str, Any]


async def image_input(request: Request) -> ImageInput:
    """Take the image from a multipart upload, a raw image body, or JSON {image: base64 | url}."""
    kind = content_type(request)
    if kind == "multipart/form-data":
        parts = await read_multipart(request.headers["content-type"], request.stream())
        files = [p for p in parts if p.filename is not None]
        named = [p for f in IMAGE_FIELDS for p in files if p.name == f]
        upload = next(iter([*named, *files]), None)
        if upload is None:
            raise ApiError(400, "the multipart body has no file (send it as field 'image')")
        options = {p.name: p.take().decode("utf-8", "replace") for p in parts if p.filename is None}
        return ImageInput(upload.filename or "upload", upload.take(), None, options)
    if kind.startswith("image/") or kind == "application/octet-stream":
        return ImageInput("upload", await request.body(), None, dict(request.query_params))
    body = await json_object(request)
    options = {k: v for k, v in body.items() if k not in ("image", "url")}
    if isinstance(body.get("image"), str):
        text = body["image"]
        if text.startswith("data:"):
            text = text.partition(",")[2]
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "'image' is not valid base64") from None
        return ImageInput("base64", data, None, options)
    if isinstance(body.get("url"), str):
        return ImageInput(body["url"], None, body["url"], options)
    raise ApiError(
        400, 'send an image: multipart field \'image\', JSON {"image": base64} or {"url": ...}'
    )


def fetch_image(stash: StashClient | None, url: str, max_bytes: int) -> bytes:
    """An image from the configured Stash host only (anything else is refused)."""
    if stash is None:
        raise ApiError(400, "no Stash URL is configured, so images cannot be fetched by URL")
    return fetch_from_stash(stash, url, max_bytes)
