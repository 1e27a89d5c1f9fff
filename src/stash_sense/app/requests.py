"""What the use cases accept, as pydantic models with their constraints (one place for the limits).

The sidecar checks every request body against these (`parse`), so a bad value is a 400 whose one
line names the field; `/docs` shows the constraints. Numbers may come as text (a multipart field,
a query parameter) but never as a fraction or a boolean.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from stash_sense.app.errors import InvalidInput
from stash_sense.matching.tiers import Tier, parse_tier

#: The most matches a face or a person may ask for.
MAX_TOP = 50
#: The most frames a scene may be sampled at.
MAX_FRAMES = 400
#: Longest text field kept (scene ids, endpoints, stash ids are far shorter).
MAX_TEXT = 256
#: Integer fields are SQLite INTEGERs (signed 64-bit).
MAX_INT = 2**63 - 1

#: Where a scene's frames come from: the sprite sheet, the video, or the sprite sheet first.
Source = Literal["auto", "sprite", "video"]
Verdict = Literal["accepted", "rejected"]


def _whole(value: Any) -> Any:
    """An integer, or text of one; refuses booleans and fractions (2.0 included)."""
    if isinstance(value, bool | float):
        raise ValueError(f"must be an integer, got {value!r}")
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise ValueError(f"must be an integer, got {value[:40]!r}") from None
    return value


def _tier(value: Any) -> Tier:
    return parse_tier(value or "unlikely")


def _text(value: Any) -> Any:
    """Ids may come as numbers: kept as their text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _id(value: Any) -> Any:
    """An id: its text, without surrounding spaces."""
    value = _text(value)
    return value.strip() if isinstance(value, str) else value


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


Top = Annotated[
    int, Field(ge=1, le=MAX_TOP, description="matches per face or person"), BeforeValidator(_whole)
]
Frames = Annotated[
    int, Field(ge=1, le=MAX_FRAMES, description="frames sampled"), BeforeValidator(_whole)
]
MinTier = Annotated[
    Tier, BeforeValidator(_tier), Field(description="the lowest tier shown (any case)")
]
Id = Annotated[str, Field(min_length=1, max_length=MAX_TEXT), BeforeValidator(_id)]
Text = Annotated[Annotated[str, Field(max_length=MAX_TEXT)] | None, BeforeValidator(_text)]
Number = Annotated[
    Annotated[int, Field(ge=-MAX_INT, le=MAX_INT), BeforeValidator(_whole)] | None,
    BeforeValidator(_blank_is_none),
]


class Request(BaseModel):
    """A request's fields; unknown ones are ignored (the plugin may send more)."""

    model_config = ConfigDict(extra="ignore")


class IdentifyImageRequest(Request):
    """The options of `/identify` (besides the image)."""

    top: Top = 5
    min_tier: MinTier = "unlikely"


class IdentifyPerformerRequest(IdentifyImageRequest):
    performer_id: Id


class IdentifySceneRequest(IdentifyImageRequest):
    scene_id: Id
    frames: Frames | None = None  # None: the sidecar's default
    source: Annotated[Source, BeforeValidator(lambda v: str(v or "auto").lower())] = "auto"


class FeedbackRequest(Request):
    """A user's verdict on a match, as the plugin sends it."""

    verdict: Verdict
    scene_id: Text = None
    person_id: Number = None
    performer_id: Number = None
    endpoint: Text = None
    stash_id: Text = None


class ReloadRequest(Request):
    path: Annotated[Path | None, BeforeValidator(_blank_is_none)] = None


def describe(err: ValidationError) -> str:
    """A validation error as one line naming each field: `top: must be ...; verdict: ...`."""
    parts = []
    for e in err.errors(include_url=False):
        where = ".".join(str(p) for p in e["loc"]) or "body"
        ctx = e.get("ctx") or {}
        if e["type"] == "missing":
            parts.append(f"{where} is required")
        elif e["type"] in ("string_too_long", "too_long"):
            parts.append(f"{where} is longer than {ctx.get('max_length')} characters")
        elif e["type"] in ("string_too_short", "too_short"):
            parts.append(f"{where} is required")
        elif e["type"] == "path_type":
            parts.append(f"{where} must be text (a folder path)")
        else:
            message = str(e["msg"]).removeprefix("Value error, ")
            parts.append(f"{where}: {message}")
    return "; ".join(parts)


R = TypeVar("R", bound=Request)


def parse(model: type[R], data: dict[str, Any]) -> R:
    """`data` as a `model`; InvalidInput naming what is wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise InvalidInput(describe(err)) from None
