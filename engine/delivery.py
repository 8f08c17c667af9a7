"""Delivering the outbox: every pending delivery sent once through its channel, retried with backoff, never lost.

A run claims a batch of due deliveries, sends each, and records the outcome of each in its own transaction:

- **Claim.** A claim is a token and a lease (`claimed_until`) written on the row before anything is sent. On
  PostgreSQL the rows are picked with SELECT ... FOR UPDATE SKIP LOCKED, so concurrent runs take different rows;
  on either database the claim itself is a conditional UPDATE (still pending, due, and not claimed or its lease
  run out), so two runs never both hold one row.
- **Send.** E-mail and the group bots through apprise; a webhook as a JSON POST signed with HMAC-SHA256 over the
  body (`X-Casework-Signature: sha256=<hex>`, and `X-Casework-Delivery` naming the delivery).
- **Record.** Sent: `status` sent, never claimed again. Failed: `attempts` + 1 and the error; retried after
  BACKOFF doubling with each attempt, `failed` for good after MAX_ATTEMPTS. Only the claim's holder can record.

A run killed between claim and record leaves the row pending with a lease that runs out; the next run after it
takes the row again, so nothing is lost. A receiver may then see a delivery twice (the one case of a repeat,
sent but not recorded): `X-Casework-Delivery` lets it tell.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select, update

from engine.channels import apprise_url
from engine.tables import notification_deliveries, notifications, user_channels

if TYPE_CHECKING:
    from engine.service import Casework

MAX_ATTEMPTS = 6
BACKOFF = timedelta(seconds=30)
"""The wait after the first failed attempt; it doubles with each one (30 s, 1, 2, 4, 8 min: ~15 min in all)."""
LEASE = timedelta(minutes=5)
"""How long a claim holds; longer than any send may take (apprise's and the webhook's timeouts are seconds)."""
BATCH_SIZE = 100
WORKERS = 4
"""Deliveries sent at once by one run: the sending waits on the network, not on this machine."""
WEBHOOK_TIMEOUT = 10
SIGNATURE_HEADER = "X-Casework-Signature"
DELIVERY_HEADER = "X-Casework-Delivery"
_SIGNING_LABEL = b"casework webhook signing v1"

log = logging.getLogger("casework.delivery")


@dataclass(frozen=True)
class Claimed:
    """A delivery this run holds, with what it sends."""

    id: int
    token: str
    attempts: int
    channel_kind: str
    target: str
    notification: dict[str, Any]


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    """Failed this time, to be tried again."""
    failed: int = 0
    """Failed for good this run (MAX_ATTEMPTS reached)."""
    lost_claims: int = 0
    """Sent or failed, but the claim had run out and another run had taken the row: not recorded by this run."""
    waiting: int = 0
    """Still pending after the run: due later, or held by another run."""
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "lost_claims": self.lost_claims,
            "waiting": self.waiting,
            "errors": self.errors[:20],
        }


class SendFailed(Exception):
    """A channel refused or could not be reached; the message is recorded as the delivery's last error."""


Sender = Callable[["Casework", Claimed], None]


def signing_secret(cw: Casework) -> bytes:
    """The installation's webhook key: CASEWORK_WEBHOOK_SECRET, else derived from the person key."""
    if cw.settings.webhook_secret:
        return cw.settings.webhook_secret.strip().encode("utf-8")
    return hmac.new(cw.persons.secret, _SIGNING_LABEL, hashlib.sha256).digest()


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# -- claiming ------------------------------------------------------------------------------------


def claim(cw: Casework, limit: int = BATCH_SIZE, *, lease: timedelta = LEASE) -> list[Claimed]:
    """Take up to `limit` due deliveries for this run (see the module's docstring); e-mail waits while no mail
    server is configured."""
    now = _utc(cw.clock.now())
    d, c, n = notification_deliveries.c, user_channels.c, notifications.c
    free = or_(d.claimed_until.is_(None), d.claimed_until < now)
    due = and_(d.status == "pending", d.next_attempt_at <= now, free)
    token = str(uuid.uuid4())
    with cw.write_transaction() as session:
        pick = (
            select(d.id)
            .join(user_channels, c.id == d.channel_id)
            .where(due)
            .order_by(d.next_attempt_at, d.id)
            .limit(limit)
        )
        if cw.settings.smtp_url is None:
            pick = pick.where(c.kind != "email")
        if session.get_bind().dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True, of=notification_deliveries)
        ids = list(session.execute(pick).scalars())
        if not ids:
            return []
        session.execute(
            update(notification_deliveries)
            .where(d.id.in_(ids), due)
            .values(claim_token=token, claimed_until=now + lease)
        )
        rows = session.execute(
            select(
                d.id,
                d.attempts,
                c.kind,
                c.target,
                n.id.label("notification_id"),
                n.kind.label("notification_kind"),
                n.recipient,
                n.case_number,
                n.subject,
                n.body,
                n.link,
                n.created_at,
            )
            .join(user_channels, c.id == d.channel_id)
            .join(notifications, n.id == d.notification_id)
            .where(d.claim_token == token)
            .order_by(d.id)
        ).all()
    return [
        Claimed(
            r.id,
            token,
            r.attempts,
            r.kind,
            r.target,
            {
                "id": r.notification_id,
                "kind": r.notification_kind,
                "recipient": r.recipient,
                "case_number": r.case_number,
                "subject": r.subject,
                "body": r.body,
                "link": cw.settings.public_url + r.link,
                "created_at": (r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC)).isoformat(),
            },
        )
        for r in rows
    ]


# -- sending -------------------------------------------------------------------------------------


def webhook_body(item: Claimed) -> bytes:
    return json.dumps(item.notification, ensure_ascii=False, sort_keys=True).encode("utf-8")


def send_webhook(cw: Casework, item: Claimed) -> None:
    body = webhook_body(item)
    request = urllib.request.Request(
        item.target,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(signing_secret(cw), body),
            DELIVERY_HEADER: str(item.id),
            "User-Agent": "casework-notifications",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as answer:
            answer.read(1024)
    except urllib.error.HTTPError as e:
        raise SendFailed(f"HTTP {e.code} from {item.target.split('?')[0]}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise SendFailed(f"{item.target.split('?')[0]} not reached: {reason}") from None


def send_apprise(cw: Casework, item: Claimed) -> None:
    import apprise

    try:
        url = apprise_url(item.channel_kind, item.target, cw.settings.smtp_url)
    except LookupError as e:
        raise SendFailed(str(e)) from None
    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise SendFailed(f"apprise does not accept the {item.channel_kind} channel's address")
    body = item.notification["body"]
    with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
        ok = notifier.notify(title=item.notification["subject"], body=body, body_format=apprise.NotifyFormat.TEXT)
    if not ok:
        said = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
        raise SendFailed((said[-1] if said else f"{item.channel_kind} channel refused the message")[:1000])


def send(cw: Casework, item: Claimed) -> None:
    """Send one claimed delivery through its channel; SendFailed names what went wrong."""
    if item.channel_kind == "webhook":
        send_webhook(cw, item)
    else:
        send_apprise(cw, item)


# -- recording -----------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """The wait before attempt `attempts` + 1, after `attempts` failed ones."""
    return BACKOFF * int(2 ** max(attempts - 1, 0))


def record(cw: Casework, item: Claimed, error: str | None) -> str:
    """Record one send's outcome, if this run still holds the claim: sent, retrying, failed or lost."""
    now = _utc(cw.clock.now())
    d = notification_deliveries.c
    attempts = item.attempts + 1
    held = and_(d.id == item.id, d.claim_token == item.token, d.status == "pending")
    if error is None:
        values: dict[str, Any] = {"status": "sent", "sent_at": now, "last_error": None}
        outcome = "sent"
    elif attempts >= MAX_ATTEMPTS:
        values = {"status": "failed", "last_error": error}
        outcome = "failed"
    else:
        values = {"last_error": error, "next_attempt_at": now + backoff(attempts)}
        outcome = "retrying"
    with cw.write_transaction() as session:
        changed = session.execute(
            update(notification_deliveries)
            .where(held)
            .values(attempts=attempts, claim_token=None, claimed_until=None, **values)
            .returning(d.id)
        ).first()
    return outcome if changed is not None else "lost"


# -- a run ---------------------------------------------------------------------------------------


def deliver_due(
    cw: Casework,
    *,
    batch_size: int = BATCH_SIZE,
    max_batches: int | None = None,
    workers: int = WORKERS,
    sender: Sender = send,
) -> DeliveryReport:
    """Send every delivery that is due, batch by batch, until none is left (or `max_batches`)."""
    report = DeliveryReport()

    def one(item: Claimed) -> tuple[str, str | None]:
        try:
            sender(cw, item)
            error = None
        except SendFailed as e:
            error = str(e)
        except Exception as e:  # a channel library's own failure must not stop the others
            log.exception("delivery %s failed unexpectedly", item.id)
            error = f"{type(e).__name__}: {str(e)[:500]}"
        return record(cw, item, error), error

    batches = 0
    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        while max_batches is None or batches < max_batches:
            claimed = claim(cw, batch_size)
            if not claimed:
                break
            batches += 1
            for outcome, error in pool.map(one, claimed):
                if outcome == "sent":
                    report.sent += 1
                elif outcome == "retrying":
                    report.retrying += 1
                elif outcome == "failed":
                    report.failed += 1
                else:
                    report.lost_claims += 1
                if error:
                    report.errors.append(error)
    report.waiting = pending_count(cw)
    return report


def pending_count(cw: Casework) -> int:
    d = notification_deliveries.c
    with cw.read_transaction() as session:
        return int(session.execute(select(func.count()).where(d.status == "pending")).scalar_one())


def delivery_counts(cw: Casework) -> dict[str, int]:
    """Deliveries by status, for a summary."""
    d = notification_deliveries.c
    with cw.read_transaction() as session:
        return {s: int(n) for s, n in session.execute(select(d.status, func.count()).group_by(d.status))}
