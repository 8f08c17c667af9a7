"""Where a person is told besides the in-app inbox: their channels (`user_channels`).

| kind       | target                                   | sent as                                           |
|------------|------------------------------------------|---------------------------------------------------|
| `email`    | an e-mail address                        | apprise mailto:// or mailtos:// via CASEWORK_SMTP_URL |
| `wecom`    | the WeCom group bot's key, or wecombot://…| apprise wecombot://                               |
| `dingtalk` | the DingTalk robot's token, or dingtalk://…| apprise dingtalk://                               |
| `feishu`   | the Feishu bot's token, or feishu://…    | apprise feishu://                                 |
| `webhook`  | an http(s) URL                           | a JSON POST signed with HMAC-SHA256 (X-Casework-Signature) |

A channel can mute the daily digest (its other notifications still come) and be switched off. Removing one
switches it off: its deliveries already recorded keep naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from sqlalchemy import insert, select, update

from aggregates.errors import InvalidCommand
from engine.errors import NotFound
from engine.tables import user_channels, users

if TYPE_CHECKING:
    from engine.service import Casework

KINDS = ("email", "wecom", "dingtalk", "feishu", "webhook")
BOT_SCHEMES = {"wecom": "wecombot", "dingtalk": "dingtalk", "feishu": "feishu"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOKEN = re.compile(r"^[A-Za-z0-9_\-]{8,200}$")
MAX_CHANNELS = 10
"""Channels per person: enough for an address, a phone's bot and a receiver or two."""


class ChannelNotFound(NotFound):
    def __init__(self, channel_id: object) -> None:
        super().__init__(f"no channel {channel_id}")


@dataclass(frozen=True)
class Channel:
    id: int
    user_id: str
    kind: str
    target: str
    digest_muted: bool
    active: bool
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "kind": self.kind,
            "target": shown_target(self.kind, self.target),
            "digest_muted": self.digest_muted,
            "active": self.active,
            "created_at": self.created_at,
        }


def shown_target(kind: str, target: str) -> str:
    """The target as it may be shown: a bot's token or a URL's secret parts are the channel's credentials."""
    if kind == "email":
        return target
    if kind == "webhook":
        parts = urlsplit(target)
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"
    return target[:4] + "…" if len(target) > 4 else "…"


def checked_target(kind: str, target: str) -> str:
    """The target of a channel of `kind`, normalised, or InvalidCommand naming the field."""
    target = (target or "").strip()
    if kind not in KINDS:
        raise InvalidCommand("channel", "add", {"kind": f"must be one of {', '.join(KINDS)}"})
    problem = None
    if kind == "email":
        problem = None if EMAIL.match(target) and len(target) <= 254 else "must be an e-mail address"
    elif kind == "webhook":
        parts = urlsplit(target)
        problem = None if parts.scheme in ("http", "https") and parts.hostname else "must be an http(s) URL"
    else:
        scheme = BOT_SCHEMES[kind]
        token = target.removeprefix(f"{scheme}://").split("/")[0].split("?")[0]
        if not TOKEN.match(token):
            problem = f"must be the bot's token (letters, digits, - and _) or a {scheme}:// URL"
        elif not target.startswith(f"{scheme}://"):
            target = token
    if problem is None and len(target) > 1000:
        problem = "must be at most 1000 characters"
    if problem:
        raise InvalidCommand("channel", "add", {"target": problem})
    return target


def apprise_url(kind: str, target: str, smtp_url: str | None) -> str:
    """The apprise URL a channel is sent through (not for webhooks, which are signed and posted directly)."""
    if kind == "email":
        if smtp_url is None:
            raise LookupError("no mail server is configured (CASEWORK_SMTP_URL)")
        parts = urlsplit(smtp_url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        sender = query.get("from") or unquote(parts.username or "")
        starttls = query.get("starttls", "").lower() in ("1", "yes", "true")
        scheme = "mailtos" if parts.scheme == "smtps" or starttls else "mailto"
        credentials = ""
        if parts.username:
            credentials = quote(unquote(parts.username), safe="")
            if parts.password:
                credentials += ":" + quote(unquote(parts.password), safe="")
            credentials += "@"
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
        params = {"smtp": parts.hostname or "", "from": sender, "to": target, "format": "text"}
        if scheme == "mailtos":
            params["mode"] = "ssl" if parts.scheme == "smtps" else "starttls"
        return f"{scheme}://{credentials}{parts.hostname}:{port}/?{urlencode(params)}"
    scheme = BOT_SCHEMES[kind]
    return target if target.startswith(f"{scheme}://") else f"{scheme}://{target}"


def _stored_now(cw: Casework) -> datetime:
    return cw.clock.now().astimezone(UTC)


def _channel(row: Any) -> Channel:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return Channel(row.id, row.user_id, row.kind, row.target, row.digest_muted, row.active, created)


def add_channel(cw: Casework, user_id: str, kind: str, target: str, *, digest_muted: bool = False) -> Channel:
    """Give `user_id` a channel; the same kind and target twice is refused."""
    target = checked_target(kind, target)
    c = user_channels.c
    with cw.write_transaction() as session:
        if session.execute(select(users.c.user_id).where(users.c.user_id == user_id)).first() is None:
            raise NotFound(f"no user {user_id}")
        mine = session.execute(select(c.kind, c.target).where(c.user_id == user_id, c.active.is_(True))).all()
        if (kind, target) in {(r.kind, r.target) for r in mine}:
            raise InvalidCommand("channel", "add", {"target": "this channel is already set up"})
        if len(mine) >= MAX_CHANNELS:
            raise InvalidCommand("channel", "add", {"kind": f"at most {MAX_CHANNELS} channels per person"})
        new_id = session.execute(
            insert(user_channels)
            .values(
                user_id=user_id,
                kind=kind,
                target=target,
                digest_muted=digest_muted,
                active=True,
                created_at=_stored_now(cw),
            )
            .returning(c.id)
        ).scalar_one()
        row = session.execute(select(user_channels).where(c.id == new_id)).one()
    return _channel(row)


def list_channels(cw: Casework, user_id: str, *, include_removed: bool = False) -> list[Channel]:
    c = user_channels.c
    query = select(user_channels).where(c.user_id == user_id).order_by(c.id)
    if not include_removed:
        query = query.where(c.active.is_(True))
    with cw.read_transaction() as session:
        return [_channel(r) for r in session.execute(query)]


def remove_channel(cw: Casework, channel_id: int, *, user_id: str | None = None) -> Channel:
    """Switch a channel off (of `user_id` only, when given); its pending deliveries are not sent."""
    from engine.tables import notification_deliveries

    c, d = user_channels.c, notification_deliveries.c
    with cw.write_transaction() as session:
        query = select(user_channels).where(c.id == channel_id, c.active.is_(True))
        if user_id is not None:
            query = query.where(c.user_id == user_id)
        row = session.execute(query).one_or_none()
        if row is None:
            raise ChannelNotFound(channel_id)
        session.execute(update(user_channels).where(c.id == channel_id).values(active=False))
        session.execute(
            update(notification_deliveries)
            .where(d.channel_id == channel_id, d.status == "pending")
            .values(status="failed", last_error="the channel was removed", claim_token=None)
        )
        row = session.execute(select(user_channels).where(c.id == channel_id)).one()
    return _channel(row)


def get_channel(cw: Casework, channel_id: int) -> Channel:
    with cw.read_transaction() as session:
        row = session.execute(select(user_channels).where(user_channels.c.id == channel_id)).one_or_none()
    if row is None:
        raise ChannelNotFound(channel_id)
    return _channel(row)
