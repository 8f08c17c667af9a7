"""Configuration from the environment; every setting has a working default.

| variable                    | default                                   |
|-----------------------------|-------------------------------------------|
| CASEWORK_DATA_DIR           | ./casework-data                           |
| CASEWORK_DATABASE_URL       | sqlite:///<data dir>/casework.db          |
| CASEWORK_CIPHER_KEY         | unset: events stored in clear             |
| CASEWORK_PERSON_KEY         | unset: generated in <data dir>/person.key |
| CASEWORK_DATA_KEY           | unset: generated in <data dir>/data.key   |
| CASEWORK_TIMEZONE           | Asia/Shanghai                             |
| CASEWORK_POLICY_FILE        | unset: legal defaults (see policy.py)     |
| CASEWORK_DB_POOL_SIZE       | 5 (PostgreSQL only)                       |
| CASEWORK_DB_CONNECT_TIMEOUT | 10 seconds (PostgreSQL only)              |
| CASEWORK_PASSWORD_MEMORY_KIB| 65536 (argon2id memory per password hash) |
| CASEWORK_PUBLIC_URL         | http://127.0.0.1:8000 (links in notifications) |
| CASEWORK_SMTP_URL           | unset: e-mail channels wait, undelivered  |
| CASEWORK_WEBHOOK_SECRET     | unset: derived from the person key        |
| CASEWORK_TOKEN_CACHE_SECONDS| 30 (0: every request reads the user)      |

Every value is checked when the settings are made, so that a wrong one is refused with one
message naming it before anything is written.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aggregates.policy import DEFAULT_ANNUAL_CAPS, DEFAULT_CLOCKS, ClockRule, DeadlinePolicy, escalation_modes
from engine.calendar import official_calendar, official_policy

MIN_PASSWORD_MEMORY_KIB = 32
"""argon2id's own floor at the 4 lanes Casework hashes with; anything this low is for tests and demos only."""
MAX_TOKEN_CACHE_SECONDS = 3600
"""The longest a token look-up may be trusted for; a change made past the record of account changes waits this long."""


class ConfigurationError(ValueError):
    """A setting is present but wrong; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    cipher_key: str | None = None
    person_key: str | None = None
    """The secret the one-open-case-per-person rule keys ID numbers with; None: the data directory's file."""
    data_key: str | None = None
    """The secret each person's key for their data in events is wrapped under; None: the data directory's file."""
    timezone: str = "Asia/Shanghai"
    policy: DeadlinePolicy = field(default_factory=official_policy)
    """Clock lengths and the rest (CASEWORK_POLICY_FILE); working days by the official calendar (engine/calendar.py)."""
    pool_size: int = 5
    connect_timeout: int = 10
    """Seconds PostgreSQL has to answer a new connection, the whole attempt; a silent server is not waited on."""
    password_memory_kib: int = 65536
    """The memory one argon2id password hash takes (KiB): what makes a stolen hash slow to guess, and a sign-in
    take ~0.1 s. A stored hash made with another cost is re-made at the user's next sign-in."""
    public_url: str = "http://127.0.0.1:8000"
    """Where people reach the workspace: notifications link to `<public_url>/case/<number>`."""
    smtp_url: str | None = None
    """The mail server e-mail notifications go through: smtp://user:password@host:port/?from=addr (plain, or with
    `&starttls=1` STARTTLS) or smtps://... (TLS from the start); None: e-mail deliveries wait until one is set."""
    webhook_secret: str | None = None
    """The key webhook bodies are signed with (HMAC-SHA256, header X-Casework-Signature); None: derived from the
    person key, so every machine of one installation signs alike."""
    checkpoint_key: str | None = None
    """The Ed25519 key checkpoints are signed with (base64 of its 32 bytes, or PEM); None: the data directory's
    `checkpoint.key`, made on first use."""
    checkpoint_webhook: str | None = None
    """Where each new checkpoint's export is POSTed (JSON), for a copy outside the database; None: nowhere."""
    token_cache_seconds: int = 30
    """How long the API may trust a token it looked up, as long as no account has changed since (engine/tokens.py);
    0: every request reads the user."""

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ConfigurationError(f"CASEWORK_TIMEZONE: unknown time zone {self.timezone!r}") from e
        if self.pool_size < 1:
            raise ConfigurationError(f"CASEWORK_DB_POOL_SIZE: must be at least 1, got {self.pool_size}")
        if self.connect_timeout < 2:  # PostgreSQL's client library takes 2 for anything less, and 0 as "forever"
            raise ConfigurationError(
                f"CASEWORK_DB_CONNECT_TIMEOUT: must be at least 2 seconds, got {self.connect_timeout}"
            )
        if not 0 <= self.token_cache_seconds <= MAX_TOKEN_CACHE_SECONDS:
            raise ConfigurationError(
                f"CASEWORK_TOKEN_CACHE_SECONDS: must be 0 to {MAX_TOKEN_CACHE_SECONDS}, got {self.token_cache_seconds}"
            )
        if self.password_memory_kib < MIN_PASSWORD_MEMORY_KIB:
            raise ConfigurationError(
                f"CASEWORK_PASSWORD_MEMORY_KIB: must be at least {MIN_PASSWORD_MEMORY_KIB}, "
                f"got {self.password_memory_kib}"
            )
        if self.cipher_key is not None:
            check_cipher_key(self.cipher_key)
        if not self.public_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"CASEWORK_PUBLIC_URL: must start with http:// or https://, got {self.public_url!r}"
            )
        if self.smtp_url is not None:
            check_smtp_url(self.smtp_url)
        if self.webhook_secret is not None and len(self.webhook_secret.strip()) < MIN_PERSON_KEY_LENGTH:
            raise ConfigurationError(
                f"CASEWORK_WEBHOOK_SECRET: must be at least {MIN_PERSON_KEY_LENGTH} characters of random text "
                "(make one with `casework keygen`)"
            )
        for name, secret in (("CASEWORK_PERSON_KEY", self.person_key), ("CASEWORK_DATA_KEY", self.data_key)):
            if secret is not None and len(secret.strip()) < MIN_PERSON_KEY_LENGTH:
                raise ConfigurationError(
                    f"{name}: must be at least {MIN_PERSON_KEY_LENGTH} characters of random text "
                    "(make one with `casework keygen`)"
                )

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
        policy_file = env.get("CASEWORK_POLICY_FILE")
        policy = load_policy(Path(policy_file)) if policy_file else official_policy()
        values: dict[str, Any] = dict(
            database_url=url,
            data_dir=data_dir,
            cipher_key=env.get("CASEWORK_CIPHER_KEY") or None,
            person_key=env.get("CASEWORK_PERSON_KEY") or None,
            data_key=env.get("CASEWORK_DATA_KEY") or None,
            timezone=timezone,
            policy=policy,
            pool_size=_whole_number(env, "CASEWORK_DB_POOL_SIZE", 5),
            connect_timeout=_whole_number(env, "CASEWORK_DB_CONNECT_TIMEOUT", 10),
            password_memory_kib=_whole_number(env, "CASEWORK_PASSWORD_MEMORY_KIB", 65536),
            public_url=(env.get("CASEWORK_PUBLIC_URL") or "http://127.0.0.1:8000").strip().rstrip("/"),
            smtp_url=(env.get("CASEWORK_SMTP_URL") or "").strip() or None,
            webhook_secret=env.get("CASEWORK_WEBHOOK_SECRET") or None,
            checkpoint_key=env.get("CASEWORK_CHECKPOINT_KEY") or None,
            checkpoint_webhook=(env.get("CASEWORK_CHECKPOINT_WEBHOOK") or "").strip() or None,
            token_cache_seconds=_whole_number(env, "CASEWORK_TOKEN_CACHE_SECONDS", 30),
        )
        values.update(overrides)
        return cls(**values)


MIN_PERSON_KEY_LENGTH = 32
CIPHER_KEY_BYTES = (16, 24, 32)


def _whole_number(env: Mapping[str, str], name: str, default: int) -> int:
    value = (env.get(name) or "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigurationError(f"{name}: must be a whole number, got {value!r}") from None


def check_cipher_key(key: str) -> None:
    """The AES key must be base64 of 16, 24 or 32 bytes; anything else would fail on the first event, or worse,
    be read leniently as another key."""
    import base64
    import binascii

    try:
        size = len(base64.b64decode(key.strip(), validate=True))
    except (binascii.Error, ValueError):
        raise ConfigurationError("CASEWORK_CIPHER_KEY: not a base64 key (make one with `casework keygen`)") from None
    if size not in CIPHER_KEY_BYTES:
        raise ConfigurationError(
            f"CASEWORK_CIPHER_KEY: the key is {size} bytes; an AES key is 16, 24 or 32 bytes "
            "(make one with `casework keygen`)"
        )


def check_smtp_url(url: str) -> None:
    """smtp://[user:password@]host[:port][/?from=address] or smtps://...; the host and a sender are required."""
    from urllib.parse import parse_qs, urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigurationError("CASEWORK_SMTP_URL: its port is not a number") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigurationError(
            "CASEWORK_SMTP_URL: expected smtp://user:password@host:port/?from=address (or smtps://...)"
        )
    sender = parse_qs(parts.query).get("from", [""])[0] or (parts.username or "")
    if "@" not in sender:
        raise ConfigurationError("CASEWORK_SMTP_URL: name the sender's address with ?from=address")
    if port is not None and not 0 < port < 65536:
        raise ConfigurationError(f"CASEWORK_SMTP_URL: port {port} is out of range")


def normalise_database_url(url: str) -> str:
    """Accept the usual spellings and pick the psycopg 3 driver for PostgreSQL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    if not (url.startswith("sqlite:///") or url.startswith("postgresql+psycopg://")):
        raise ConfigurationError(
            f"CASEWORK_DATABASE_URL: expected sqlite:///path or postgresql://..., got {url.split(':')[0]}:..."
        )
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)  # parsed here, so that a malformed URL is named before anything connects
    except (ArgumentError, ValueError) as e:
        problem = "its port is not a number" if isinstance(e, ValueError) else "it cannot be read as a URL"
        raise ConfigurationError(
            f"CASEWORK_DATABASE_URL: {problem}; expected sqlite:///path or postgresql://user@host:port/database"
        ) from None
    return url


POLICY_SETTINGS = ("max_backdate_days", "escalation", "holidays", "extra_workdays", "clocks", "annual_caps")
LONGEST_DAYS = 3660
"""Ten years: the longest clock or back-dating a policy may set (more is a slip of the keyboard)."""


class _Refused(ValueError):
    """A value in the policy file is wrong; the message names its key and the value."""


def load_policy(path: Path) -> DeadlinePolicy:
    """Read a TOML policy file (see README "Deadline policy"). A value of the wrong type or out of range, or a
    key the policy does not have, is refused naming the file and the key: a policy silently read otherwise than
    written would set the wrong legal deadlines. Working days are the official calendar's, its `holidays` and
    `extra_workdays` days off and days worked over it (local holidays, corrections)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
        raw = tomllib.loads(text)
    except OSError as e:
        raise ConfigurationError(f"CASEWORK_POLICY_FILE: cannot read {path}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise ConfigurationError(
            f"CASEWORK_POLICY_FILE: {path} is not UTF-8 text (byte {e.start} cannot be read); save it as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigurationError(f"CASEWORK_POLICY_FILE: {path} is not valid TOML: {e}") from e
    try:
        return _policy(raw)
    except _Refused as e:
        raise ConfigurationError(f"CASEWORK_POLICY_FILE: {path}: {e}") from None


def _policy(raw: dict[str, Any]) -> DeadlinePolicy:
    _known_keys("", raw, POLICY_SETTINGS)
    clocks = dict(DEFAULT_CLOCKS)
    for name, rule in _table(raw, "clocks").items():
        if name not in DEFAULT_CLOCKS:
            raise _Refused(f"unknown clock {name!r}; known: {', '.join(DEFAULT_CLOCKS)}")
        where = f"clocks.{name}"
        if isinstance(rule, dict):
            _known_keys(where, rule, ("days", "working_days"))
            working = rule.get("working_days", False)
            if not isinstance(working, bool):
                raise _Refused(f"{where}.working_days must be true or false, got {working!r}")
            clocks[name] = ClockRule(_days(f"{where}.days", rule.get("days"), least=1), working)
        else:
            clocks[name] = ClockRule(_days(f"{where}.days", rule, least=1))
    caps = dict(DEFAULT_ANNUAL_CAPS)
    for name, cap in _table(raw, "annual_caps").items():
        if name not in DEFAULT_ANNUAL_CAPS:
            raise _Refused(f"annual_caps: unknown aid type {name!r}; known: {', '.join(DEFAULT_ANNUAL_CAPS)}")
        caps[name] = _amount(f"annual_caps.{name}", cap)
    try:
        escalation = escalation_modes(raw.get("escalation", "auto"))  # one mode for every rung, or a table of rungs
    except ValueError as e:
        raise _Refused(str(e)) from None
    return DeadlinePolicy(
        clocks=clocks,
        calendar=official_calendar(),
        holidays=_dates(raw, "holidays"),
        extra_workdays=_dates(raw, "extra_workdays"),
        max_backdate_days=_days("max_backdate_days", raw.get("max_backdate_days", 30), least=0),
        annual_caps=caps,
        escalation=escalation,
    )


def _known_keys(where: str, table: Mapping[str, Any], known: tuple[str, ...]) -> None:
    for key in table:
        if key not in known:
            raise _Refused(f"{where + ': ' if where else ''}unknown setting {key!r}; known: {', '.join(known)}")


def _table(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise _Refused(f"{key} must be a table ([{key}] followed by name = value lines), got {value!r}")
    return value


def _days(key: str, value: object, *, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= LONGEST_DAYS:
        adjective = "positive" if least else "non-negative"
        raise _Refused(f"{key} must be a {adjective} whole number of days (at most {LONGEST_DAYS}), got {value!r}")
    return value


def _amount(key: str, value: object) -> Decimal:
    """A cap in CNY: a TOML number, or a decimal in a string ("12000.50"); finite and not negative."""
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ArithmeticError
        amount = Decimal(str(value).strip())
        if not amount.is_finite() or amount < 0:
            raise ArithmeticError
    except ArithmeticError:
        raise _Refused(f"{key} must be an amount in CNY, 0 or more, got {value!r}") from None
    return amount


def _dates(raw: Mapping[str, Any], key: str) -> frozenset[date]:
    """TOML dates (2026-10-01) or ISO date strings; a date-time is not a day."""
    values = raw.get(key, [])
    if not isinstance(values, list):
        raise _Refused(f"{key} must be a list of dates such as [2026-10-01, 2026-10-02], got {values!r}")
    days = set()
    for value in values:
        try:
            if isinstance(value, datetime) or not isinstance(value, date | str):
                raise ValueError
            days.add(value if isinstance(value, date) else date.fromisoformat(value))
        except ValueError:
            raise _Refused(
                f"{key} must be a list of dates such as [2026-10-01, 2026-10-02]; {str(value)!r} is not a date"
            ) from None
    return frozenset(days)
