"""Stash Sense's settings: one model, its real defaults, read from STASH_SENSE_* variables.

The command line builds it once per command with the options the user gave on top
(`load_settings(workers=2)`) and passes values on: the sidecar takes its group (`Settings.sidecar`,
as `sidecar.config.SidecarConfig`), the other commands take single values; no library module
reads the environment. Secrets are `SecretStr`, so they never show in a repr, a log line or an
error. docs/configuration.md is generated from this model (stash_sense_devkit.configdoc).

Every setting has one name: its variable is `STASH_SENSE_` + the name in capitals, its option
`--` + the name with dashes (`release_index`: STASH_SENSE_RELEASE_INDEX, `--release-index`);
inside a group the name is the group's prefix + the field (`Settings.release.index`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from stash_sense.errors import ConfigError

PREFIX = "STASH_SENSE_"
#: Most frames one scene request may sample.
MAX_FRAMES = 400
HOME = Path.home()


def _split(value: object) -> object:
    """A comma-separated variable (`a,b`) as a list; lists pass as they are."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


Names = Annotated[list[str], BeforeValidator(_split)]


def parse_schedule(value: object) -> str:
    """A scan schedule: off, hourly, daily or a number of minutes (1 to 99999)."""
    text = str(value).strip().lower()
    if not re.fullmatch(r"off|hourly|daily|[1-9][0-9]{0,4}", text):
        raise ValueError(f"off, hourly, daily or a number of minutes, got {value!r}")
    return text


Schedule = Annotated[str, BeforeValidator(parse_schedule)]


def parse_auto(value: object) -> object:
    """The value "auto" (any case) or an empty one is the computed default (None)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("auto", "")):
        return None
    if isinstance(value, str) and not re.fullmatch(r"\s*[0-9]+(\.[0-9]*)?\s*", value):
        raise ValueError(f'a number of MiB or "auto", got {value!r}')
    return value


AutoMiB = Annotated[float | None, BeforeValidator(parse_auto)]


def _shown(text: str) -> dict[str, Any]:
    """How a default that depends on the machine is shown in help and docs."""
    return {"shown_default": text}


#: A setting that only its variable sets (no command has an option for it).
ENV_ONLY: dict[str, Any] = {"env_only": True}


class Group(BaseModel):
    """A group of settings; `prefix` comes before its fields' names (variables, options)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    prefix: ClassVar[str] = ""


class ReleaseSettings(Group):
    """Where signed database releases come from (`db update`, the sidecar's updates)."""

    prefix: ClassVar[str] = "release_"

    index: str | None = Field(
        default=None,
        description="URL of the release index (index.json); downloads come only from its host",
    )
    keys: Path | None = Field(
        default=None,
        description="a keys.json of publisher keys trusted besides the shipped ones "
        "(the JSON `db keygen` prints is one too)",
    )


class SidecarSettings(Group):
    """`stash-sense serve`: where the sidecar listens, what it may reach, its limits."""

    host: str = Field(
        default="127.0.0.1",
        description="address to bind; anything but loopback warns when no API key is set",
    )
    port: int = Field(default=5000, ge=1, le=65535, description="port to listen on")
    stash_url: str | None = Field(
        default=None,
        description="your Stash, e.g. http://localhost:9999: the only host the sidecar fetches "
        "from, and a browser origin allowed; a `user:password@` in it (Stash behind a proxy with "
        "Basic authentication) is sent to that origin only and never shown",
    )
    stash_api_key: SecretStr | None = Field(
        default=None, description="Stash's API key, when Stash needs one (an option shows in `ps`)"
    )
    stash_api_key_file: Path | None = Field(
        default=None, description="a file whose first line is Stash's API key (wins over the key)"
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="the X-API-Key every endpoint but /health requires (an option shows in `ps`)",
    )
    api_key_file: Path | None = Field(
        default=None, description="a file whose first line is that key (wins over the key)"
    )
    allowed_hosts: Names = Field(
        default_factory=list,
        description="other names clients reach the sidecar by (Host header; comma-separated); "
        "loopback and the bound address always are; `*` allows any",
    )
    cors_origins: Names = Field(
        default_factory=list,
        description="other browser origins allowed (comma-separated); the Stash URL's always is",
    )
    header_timeout: float = Field(
        default=10.0,
        ge=0.1,
        description="seconds a client has to send its request line and headers",
    )
    body_timeout: float = Field(
        default=30.0,
        ge=0.1,
        description="seconds a body may pause; all of it must come within 4 times",
    )
    max_upload_mb: int = Field(default=32, ge=1, description="largest request body, MiB")
    workers: int = Field(default=1, ge=1, description="identification jobs run at once")
    queue: int = Field(
        default=8, ge=0, description="jobs that may wait; beyond that 503 + Retry-After"
    )
    frames: int = Field(
        default=40, ge=1, le=MAX_FRAMES, description="frames sampled per scene by default"
    )
    data_dir: Path = Field(
        default=HOME / ".stash-sense",
        description="where the sidecar keeps its files",
        json_schema_extra=_shown("~/.stash-sense"),
    )
    feedback_db: Path | None = Field(
        default=None,
        description="SQLite file for accepted and rejected matches",
        json_schema_extra=_shown("<data_dir>/feedback.sqlite"),
    )
    feedback_max_mb: float = Field(
        default=64.0,
        ge=0.01,
        description="largest feedback file, MiB; when full, POST /feedback is 507",
    )
    scan_rate: float = Field(
        default=4.0,
        gt=0,
        le=1000,
        description="requests a second the library scan sends to Stash (GraphQL and files)",
    )
    scan_memory_mb: AutoMiB = Field(
        default=None,
        ge=256,
        description="resident memory, MiB, above which the library scan pauses itself (checked "
        'after each scene); "auto": the default',
        json_schema_extra=_shown("its top memory over its first 2 scenes + 512, >= 1536"),
    )
    scan_preselect_frames: int = Field(
        default=3,
        ge=1,
        le=MAX_FRAMES,
        description='frames a "high" person of a scanned scene must be seen in to be pre-selected',
    )
    scan_schedule: Schedule = Field(
        default="off",
        description="when the sidecar starts or resumes the library scan by itself: off, hourly, "
        "daily or every N minutes (a scan the user paused stays paused)",
    )
    scan_new_scenes: bool = Field(
        default=True,
        description="with a scan schedule: after a finished scan, scan the scenes Stash added or "
        "edited since (off: only resume an unfinished scan)",
    )


class Settings(BaseSettings):
    """Every setting of the command line and the sidecar, with its real default."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    db: Path | None = Field(
        default=None,
        description="the face database folder (a root with `current`, or one generation)",
    )
    models: Path = Field(
        default=HOME / ".cache" / "stash-sense" / "models",
        description="the folder of fetched (optional) models and of dlib's converted network",
        json_schema_extra={**_shown("~/.cache/stash-sense/models"), **ENV_ONLY},
    )
    max_image_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="the largest image file read, bytes",
        json_schema_extra=ENV_ONLY,
    )
    cores: int | None = Field(
        default=None,
        ge=1,
        description="the most CPU cores face work may use (detection, embedding, dlib's worker "
        "processes, builds, scenes)",
        json_schema_extra={**_shown("all this process may use, at most 4"), **ENV_ONLY},
    )
    device: Literal["auto", "cpu", "gpu"] = Field(
        default="auto",
        description="where the face networks run: auto (a GPU through onnxruntime-gpu when "
        "present, else the CPU), cpu, or gpu (the CPU with one warning when no GPU can be used)",
        json_schema_extra=ENV_ONLY,
    )
    config: Path | None = Field(
        default=None,
        description="the endpoints TOML of `build` (must exist when set)",
        json_schema_extra=_shown("$XDG_CONFIG_HOME/stash-sense/endpoints.toml"),
    )
    release: ReleaseSettings = ReleaseSettings()
    sidecar: SidecarSettings = SidecarSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Options over STASH_SENSE_* variables (flat names, see the module's docstring)."""
        return init_settings, _Environment(settings_cls)

    def endpoints_file(self) -> tuple[Path, bool]:
        """(the endpoints TOML, whether it must exist): STASH_SENSE_CONFIG (or --config) must;
        the default, `$XDG_CONFIG_HOME/stash-sense/endpoints.toml`, need not."""
        if self.config is not None:
            return self.config, True
        base = Path(os.environ.get("XDG_CONFIG_HOME") or HOME / ".config")
        return base / "stash-sense" / "endpoints.toml", False

    @staticmethod
    def endpoint_environ() -> dict[str, str]:
        """The STASH_SENSE_* variables, for the per-endpoint overrides of `sources.endpoints`
        (their names depend on the endpoints configured, so they are no fields)."""
        return {k: v for k, v in os.environ.items() if k.startswith(PREFIX)}


def entries() -> Iterator[tuple[str, str | None, FieldInfo]]:
    """(name, group, field) of every setting: `workers`, "sidecar"; `release_index`, "release";
    `db`, None. The name is the variable without its prefix and the option without `--`."""
    for name, field in Settings.model_fields.items():
        group = field.annotation
        if isinstance(group, type) and issubclass(group, Group):
            for sub, info in group.model_fields.items():
                yield group.prefix + sub, name, info
        else:
            yield name, None, field


def env_only(field: FieldInfo) -> bool:
    """Whether only a variable sets this setting (no command has an option for it)."""
    extra = field.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("env_only"))


def variable(name: str) -> str:
    """The environment variable of a setting."""
    return PREFIX + name.upper()


def option(name: str) -> str:
    """The command-line option of a setting (lists take one value per option, so singular)."""
    flag = "--" + name.replace("_", "-")
    return flag[:-1] if flag in ("--allowed-hosts", "--cors-origins") else flag


def default_text(field: FieldInfo) -> str:
    """A setting's default as help and docs show it."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and "shown_default" in extra:
        return str(extra["shown_default"])
    value = field.get_default(call_default_factory=True)
    return "none" if value is None or value == [] else str(value)


def help_text(name: str) -> str:
    """The help of a setting's option: its meaning, variable and default, from the model."""
    for entry, _, field in entries():
        if entry == name:
            return f"{field.description} (env {variable(name)}; default {default_text(field)})"
    raise KeyError(name)


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{"workers": 2, "release_index": u, "db": p} -> {"sidecar": {...}, "release": {...}, ...}."""
    nested: dict[str, Any] = {}
    for name, group, _ in entries():
        if name in flat:
            if group is None:
                nested[name] = flat[name]
            else:
                nested.setdefault(group, {})[name.removeprefix(_prefix(group))] = flat[name]
    return nested


def _prefix(group: str) -> str:
    annotation = Settings.model_fields[group].annotation
    assert isinstance(annotation, type) and issubclass(annotation, Group)
    return annotation.prefix


class _Environment(PydanticBaseSettingsSource):
    """Each setting from its own STASH_SENSE_<NAME> (groups included; no JSON, no `__`)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every variable at once

    def __call__(self) -> dict[str, Any]:
        environ = {k.upper(): v for k, v in os.environ.items() if k.upper().startswith(PREFIX)}
        return _nest({n: environ[variable(n)] for n, _, _ in entries() if variable(n) in environ})


def load_settings(**given: Any) -> Settings:
    """The settings: `given` values by flat name (command-line options; None ones are dropped)
    over the environment over the defaults. Raises ConfigError naming the variable (and the
    option) of a malformed value, never showing a secret."""
    unknown = set(given) - {name for name, _, _ in entries()}
    if unknown:
        raise TypeError(f"no such setting: {', '.join(sorted(unknown))}")
    try:
        return Settings(**_nest({k: v for k, v in given.items() if v is not None}))
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"] if not str(p).isdigit()]
        name = loc[-1] if len(loc) == 1 else _prefix(loc[0]) + loc[1]
        field = next(f for n, _, f in entries() if n == name)
        where = variable(name) if env_only(field) else f"{variable(name)} or {option(name)}"
        raise ConfigError(f"{where}: {str(first['msg']).removeprefix('Value error, ')}") from None
