"""Configuration from the environment; every setting has a working default.

| variable                    | default                                   |
|-----------------------------|-------------------------------------------|
| CASEWORK_DATA_DIR           | ./casework-data                           |
| CASEWORK_DATABASE_URL       | sqlite:///<data dir>/casework.db          |
| CASEWORK_CIPHER_KEY         | unset: events stored in clear             |
| CASEWORK_PERSON_KEY         | unset: generated in <data dir>/person.key |
| CASEWORK_TIMEZONE           | Asia/Shanghai                             |
| CASEWORK_POLICY_FILE        | unset: legal defaults (see policy.py)     |
| CASEWORK_DB_POOL_SIZE       | 5 (PostgreSQL only)                       |
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aggregates.policy import DEFAULT_ANNUAL_CAPS, DEFAULT_CLOCKS, ClockRule, DeadlinePolicy


class ConfigurationError(ValueError):
    """A setting is present but wrong; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    cipher_key: str | None = None
    person_key: str | None = None
    """The secret the one-open-case-per-person rule keys ID numbers with; None: the data directory's file."""
    timezone: str = "Asia/Shanghai"
    policy: DeadlinePolicy = field(default_factory=DeadlinePolicy)
    pool_size: int = 5

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("CASEWORK_DATA_DIR") or "casework-data").expanduser()
        url = env.get("CASEWORK_DATABASE_URL") or f"sqlite:///{data_dir / 'casework.db'}"
        url = normalise_database_url(url)
        timezone = env.get("CASEWORK_TIMEZONE") or "Asia/Shanghai"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ConfigurationError(f"CASEWORK_TIMEZONE: unknown time zone {timezone!r}") from e
        policy_file = env.get("CASEWORK_POLICY_FILE")
        policy = load_policy(Path(policy_file)) if policy_file else DeadlinePolicy()
        try:
            pool_size = int(env.get("CASEWORK_DB_POOL_SIZE") or 5)
        except ValueError as e:
            raise ConfigurationError("CASEWORK_DB_POOL_SIZE: must be a whole number") from e
        values: dict[str, object] = dict(
            database_url=url, data_dir=data_dir, cipher_key=env.get("CASEWORK_CIPHER_KEY") or None,
            person_key=env.get("CASEWORK_PERSON_KEY") or None,
            timezone=timezone, policy=policy, pool_size=pool_size,
        )
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def normalise_database_url(url: str) -> str:
    """Accept the usual spellings and pick the psycopg 3 driver for PostgreSQL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if not (url.startswith("sqlite:///") or url.startswith("postgresql+psycopg://")):
        raise ConfigurationError(
            f"CASEWORK_DATABASE_URL: expected sqlite:///path or postgresql://..., got {url.split(':')[0]}:..."
        )
    return url


def load_policy(path: Path) -> DeadlinePolicy:
    """Read a TOML policy file (see README "Deadline policy")."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigurationError(f"CASEWORK_POLICY_FILE: cannot read {path}: {e.strerror}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigurationError(f"CASEWORK_POLICY_FILE: {path} is not valid TOML: {e}") from e
    clocks = dict(DEFAULT_CLOCKS)
    for name, rule in (raw.get("clocks") or {}).items():
        if name not in DEFAULT_CLOCKS:
            known = ", ".join(DEFAULT_CLOCKS)
            raise ConfigurationError(f"CASEWORK_POLICY_FILE: unknown clock {name!r}; known: {known}")
        days = rule.get("days") if isinstance(rule, dict) else rule
        if not isinstance(days, int) or days < 1:
            raise ConfigurationError(f"CASEWORK_POLICY_FILE: clocks.{name}.days must be a positive whole number")
        working = bool(rule.get("working_days", False)) if isinstance(rule, dict) else False
        clocks[name] = ClockRule(days, working)
    caps = dict(DEFAULT_ANNUAL_CAPS)
    for name, cap in (raw.get("annual_caps") or {}).items():
        if name not in DEFAULT_ANNUAL_CAPS:
            raise ConfigurationError(f"CASEWORK_POLICY_FILE: unknown aid type {name!r}")
        caps[name] = Decimal(str(cap))

    def dates(key: str) -> frozenset[date]:
        try:
            return frozenset(d if isinstance(d, date) else date.fromisoformat(str(d)) for d in raw.get(key, []))
        except ValueError as e:
            raise ConfigurationError(f"CASEWORK_POLICY_FILE: {key} must be a list of dates: {e}") from e

    escalation = raw.get("escalation", "auto")
    if escalation not in ("auto", "confirm"):
        raise ConfigurationError("CASEWORK_POLICY_FILE: escalation must be 'auto' or 'confirm'")
    return DeadlinePolicy(
        clocks=clocks, holidays=dates("holidays"), extra_workdays=dates("extra_workdays"),
        max_backdate_days=int(raw.get("max_backdate_days", 30)), annual_caps=caps, escalation=escalation,
    )
