"""The proxy's settings: environment (``CONTEXTZIP_*``), a TOML or JSON file, or arguments.

Precedence, highest first: arguments (``contextzip serve --rate 0.3``), environment
variables, the config file (``CONTEXTZIP_CONFIG`` or ``--config``), the defaults below.
Per-route policy comes from ``routes`` (``openai``, ``anthropic``, ``responses``), then
per-model policy from ``models``, a table of glob patterns (the later wins)::

    # contextzip.toml
    upstream = "https://api.openai.com"
    rate = 0.3
    [routes.anthropic]
    method = "lexical"
    [models."gpt-4o*"]
    rate = 0.5
    [models."o1*"]
    enabled = false

Example:
    >>> s = ProxySettings(upstream="http://127.0.0.1:9", models={"gpt-4o*": {"rate": 0.5}})
    >>> s.policy_for("gpt-4o-mini").rate, s.policy_for("claude-3").rate
    (0.5, 0.3)
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    JsonConfigSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from contextzip.defaults import DEFAULTS, GATEWAY_STATIC_ABOVE
from contextzip.errors import ConfigurationError, UnknownCompressorError
from contextzip.protocol import check_options, compressor_info, fill_options

__all__ = ["ROUTES", "SHORTHANDS", "Policy", "ProxySettings", "check_method"]

_DEFAULT = DEFAULTS["proxy"]
_STATIC_ABOVE = "tool-result items scored together past this many characters use static vectors (0: never)"
_RATE: float = _DEFAULT.rate or 1.0  # the proxy's entry has a rate

#: The compressing routes, by the API they speak.
ROUTES = ("openai", "anthropic", "responses")

#: Names a request may use for a registered compressor with options (the proxy's own names
#: from before it took registry names; they keep working).
SHORTHANDS: dict[str, tuple[str, dict[str, Any]]] = {
    "agent-tokens": ("agent", {"prose": "mig-tokens"}),  # prose also through the token classifier
    "lexical": ("agent", {"relevance": "lexical"}),  # no model: query words only (fastest)
}


def check_method(method: str) -> str:
    """``method`` if it is a registered compressor's name or a shorthand; else a ``ValueError``.

    Example:
        >>> check_method("lexical"), check_method("truncate")
        ('lexical', 'truncate')
    """
    if method in SHORTHANDS:
        return method
    try:
        compressor_info(method)
    except UnknownCompressorError as exc:
        raise ValueError(f"method: {exc}; or a shorthand: {', '.join(SHORTHANDS)}") from None
    return method


class Policy(BaseModel):
    """What the proxy compresses, for one model (or all).

    ``method`` names a registered compressor (``contextzip methods`` lists them; ``agent`` is
    the default and the one built for conversations) or a shorthand from :data:`SHORTHANDS`;
    ``options`` go to its constructor, over the shorthand's.
    """

    enabled: bool = True
    rate: float = Field(default=_RATE, gt=0, lt=1, description="share of its tokens a compressed text keeps")
    method: str = _DEFAULT.method
    options: dict[str, Any] = Field(default_factory=dict, description="options for the method's compressor")
    min_tokens: int = Field(default=500, ge=0, description="texts shorter than this pass untouched")
    static_above: int = Field(default=GATEWAY_STATIC_ABOVE, ge=0, description=_STATIC_ABOVE)
    retrieve: bool = Field(default=False, description="keep originals; let the model ask for them")

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        return check_method(value)

    @model_validator(mode="after")
    def _known_options(self) -> Policy:
        name, options = self.compressor()
        info = compressor_info(name)
        try:
            check_options(f"method {self.method!r}", info.resolve(), {**info.defaults, **options})
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from None
        return self

    def compressor(self) -> tuple[str, dict[str, Any]]:
        """The registry name and constructor options this policy's method stands for.

        The compressor's own length threshold and static-vector threshold, where it has them,
        are ``min_tokens`` and ``static_above``.

        Example:
            >>> Policy(method="lexical", min_tokens=300).compressor()
            ('agent', {'relevance': 'lexical', 'min_tokens': 300, 'static_above': 4000})
        """
        name, options = SHORTHANDS.get(self.method, (self.method, {}))
        shared = {"min_tokens": self.min_tokens, "static_above": self.static_above or None}
        return name, fill_options(name, {**options, **self.options}, **shared)


class ProxySettings(BaseSettings):
    """Everything ``contextzip serve`` reads; see the module docs for the sources."""

    model_config = SettingsConfigDict(env_prefix="CONTEXTZIP_", env_nested_delimiter="__", extra="forbid")

    upstream: str = Field(default="https://api.openai.com", description="OpenAI-compatible base URL")
    anthropic_upstream: str | None = Field(
        default=None, description="base URL for /v1/messages (default: upstream)"
    )
    upstream_api_key: SecretStr | None = Field(
        default=None, description="sent upstream instead of the client's key"
    )
    access_keys: list[SecretStr] = Field(default_factory=list, description="keys clients must present")
    host: str = "127.0.0.1"
    port: int = 8787
    enabled: bool = True
    rate: float = Field(default=_RATE, gt=0, lt=1)
    method: str = _DEFAULT.method
    options: dict[str, Any] = Field(default_factory=dict, description="options for the method's compressor")
    min_tokens: int = Field(default=500, ge=0)
    static_above: int = Field(default=GATEWAY_STATIC_ABOVE, ge=0, description=_STATIC_ABOVE)
    retrieve: bool = Field(default=False, description="keep originals; answer the model's retrieve calls")
    retrieve_rounds: int = Field(default=3, ge=1, le=10, description="retrieve calls answered per request")
    retrieve_max_chars: int = Field(default=200_000, gt=0, description="an original handed back, at most")
    routes: dict[str, dict[str, Any]] = Field(default_factory=dict, description="route -> policy overrides")
    models: dict[str, dict[str, Any]] = Field(default_factory=dict, description="glob -> policy overrides")
    max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    compression_timeout_s: float = Field(default=5.0, gt=0)
    compression_queue: int = Field(
        default=16, ge=0, description="compressions that may wait for a thread; past that, forward at once"
    )
    upstream_timeout_s: float = Field(default=600.0, gt=0)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    cache_size: int = Field(default=4096, ge=0, description="compressed texts kept in memory")
    redis_url: str | None = Field(default=None, description="share the cache between replicas")
    cache_ttl_s: int = Field(default=7 * 24 * 3600, gt=0)
    log_level: str = "info"
    workers: int = Field(default=1, ge=1, description="worker processes (contextzip serve)")
    compression_threads: int | None = Field(
        default=None,
        ge=1,
        description="threads compressing at once, per worker (default: its cores, <= 2)",
    )
    torch_threads: int | None = Field(
        default=None, ge=1, description="torch threads per worker (default: the cores it owns / workers)"
    )
    client_keepalive_s: float = Field(
        default=75.0,
        gt=0,
        description="an idle client connection is kept this long (over the clients' own pool timeouts)",
    )
    upstream_keepalive_s: float = Field(
        default=4.0,
        gt=0,
        description="an idle upstream connection is closed after this (under the server's own)",
    )

    config_file: Path | None = Field(default=None, exclude=True)

    def model_post_init(self, context: Any, /) -> None:
        self.upstream = self.upstream.rstrip("/")
        if self.anthropic_upstream:
            self.anthropic_upstream = self.anthropic_upstream.rstrip("/")
        unknown = set(self.routes) - set(ROUTES)
        if unknown:
            raise ValueError(f"routes: unknown route {sorted(unknown)}; routes are {', '.join(ROUTES)}")
        for route in (None, *self.routes):
            self.policy_for(None, route)  # a bad override fails at start, not on a request
        for pattern in self.models:
            self.policy_for(pattern)

    def policy_for(self, model: str | None, route: str | None = None) -> Policy:
        """The policy for ``model`` on ``route``: defaults, the route's, then each matching model glob."""
        values: dict[str, Any] = {
            "enabled": self.enabled, "rate": self.rate, "method": self.method, "options": self.options,
            "min_tokens": self.min_tokens, "static_above": self.static_above, "retrieve": self.retrieve,
        }  # fmt: skip
        overrides = [self.routes.get(route or "", {})]
        if model is not None:
            overrides += [o for pattern, o in self.models.items() if fnmatch.fnmatchcase(model, pattern)]
        for override in overrides:
            if "method" in override and "options" not in override:
                values["options"] = {}  # options belong to the method they were given with
            values.update(override)
        return Policy(**values)

    def smallest_min_tokens(self) -> int:
        """The lowest ``min_tokens`` of any route or model policy: no shorter text is ever compressed."""
        overrides = [*self.routes.values(), *self.models.values()]
        return min([self.min_tokens, *(o["min_tokens"] for o in overrides if "min_tokens" in o)])

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = [init_settings, env_settings]
        path = _config_path(init_settings)
        if path is not None:
            reader = TomlConfigSettingsSource if path.suffix == ".toml" else JsonConfigSettingsSource
            sources.append(reader(settings_cls, path))
        return tuple(sources)


def _config_path(init_settings: PydanticBaseSettingsSource) -> Path | None:
    import os

    given = init_settings().get("config_file") or os.environ.get("CONTEXTZIP_CONFIG")
    if not given:
        return None
    path = Path(given)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist (from --config or CONTEXTZIP_CONFIG)")
    if path.suffix not in (".toml", ".json"):
        raise ValueError(f"config file {path} must be .toml or .json")
    return path
