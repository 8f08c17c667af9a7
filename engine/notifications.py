"""Notifications: the outbox people are told from, and their in-app inbox.

A notification is written in the transaction of what it tells of, so that nothing recorded goes untold and
nothing untold is recorded: the service hands every event a command records to `record_for_events` before it
commits (an alert a sweep raised, an escalation proposed or taken, a case assigned), and a campaign's finish
writes its own. Each notification gets one pending delivery per active channel of its recipient
(`notification_deliveries`, unique per notification and channel), which `engine/delivery.py` sends; the
notification row itself is the recipient's inbox entry. Messages are in Chinese, for the people who read them.

Every notification has a dedupe key (`event:<case>:<version>:<user>`, `campaign:<id>:<user>`,
`digest:<user>:<date>`): whatever writes it twice writes it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import and_, false, func, select, update
from sqlalchemy.orm import Session

from aggregates.base import Case
from aggregates.policy import DeadlinePolicy
from engine.database import dialect_insert
from engine.errors import NotFound
from engine.names import chinese
from engine.organisation import supervisors_of
from engine.tables import case_index, notification_deliveries, notifications, open_clocks, user_channels

if TYPE_CHECKING:
    from engine.service import Casework

ALERT, ESCALATION, ASSIGNED, CAMPAIGN, DIGEST = "alert", "escalation", "assigned", "campaign_finished", "digest"
REPORT = "report_ready"
KINDS = (ALERT, ESCALATION, ASSIGNED, CAMPAIGN, DIGEST, REPORT)
DIGEST_WORKING_DAYS = 3
"""A digest lists the clocks due from today to this many working days ahead."""

STEPS = {
    "escalate_to_acting_offer": "由上级工会代行要约",
    "issue_rectification": "发出整改建议书",
    "refer_to_inspectorate": "提交人社部门执法检查",
}
PROPOSALS = {"propose_escalation", "propose_referral"}
"""Escalations the scheduler proposes for a supervisor to confirm (the policy's `confirm`)."""


def clock_name(clock: str) -> str:
    if clock.startswith("item-"):
        return f"整改事项{clock.removeprefix('item-')}期限"
    return chinese("clock", clock)


def case_path(number: str) -> str:
    return f"/case/{number}"


@dataclass(frozen=True)
class Message:
    """One notification to one person, before it is stored."""

    key: str
    kind: str
    recipient: str
    subject: str
    body: str
    link: str
    case_id: UUID | None = None
    case_number: str | None = None


# -- what an event calls for -----------------------------------------------------------------------


def _opens(case: Case, action: str) -> bool:
    found = case.TABLE.actions.get(action)
    return found is not None and found.creates


def messages_for_event(session: Session, public_url: str, case: Case, event: Case.Event, tz: Any) -> list[Message]:
    """The notifications `event` (recorded on `case`) calls for; none for most events."""
    action = type(event).ACTION
    data = event.data
    number, kind = case.number, chinese("kind", case.KIND)
    link = public_url + case_path(number)
    when = event.occurred_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    recipients: list[str]
    if action == "raise_alert":
        recipients = list(data.get("notify") or [])
        clock = clock_name(data["clock"])
        subject = f"【期限届满】{number} {clock}已于 {data['due_on']} 届满"
        lines = [
            f"案件 {number}（{kind}）的{clock}已于 {data['due_on']} 届满，尚无人处理。",
            "法律只规定了期限，没有自动后果，请督促承办人及时处理。",
        ]
        message_kind = ALERT
    elif action in PROPOSALS or action in STEPS:
        recipients = [*([case.assignee] if case.assignee else []), *supervisors_of(session, case.org_unit)]
        if action in PROPOSALS:
            step = STEPS.get(data.get("action", ""), "提交人社部门执法检查")
            subject = f"【升级待确认】{number} 拟{step}"
            lines = [f"案件 {number}（{kind}）已到升级条件，系统拟{step}，请督查人员确认或驳回。"]
            if data.get("due_on"):
                lines.append(f"所依据的期限届满日：{data['due_on']}")
        else:
            step = STEPS[action]
            subject = f"【已升级】{number} 已{step}"
            lines = [f"案件 {number}（{kind}）已{step}。"]
            for name, spec in event.clocks_opened.items():
                lines.append(f"新的{clock_name(name)}：{spec['due_on']}")
            if data.get("rectification_number"):
                lines.append(f"整改建议书编号：{data['rectification_number']}")
        message_kind = ESCALATION
    elif action == "assign" or (_opens(case, action) and case.assignee):
        recipients = [data["assignee"] if action == "assign" else str(case.assignee)]
        subject = f"【案件分派】{number} 已分派给您"
        how = "分派给您承办" if action == "assign" else "立案，由您承办"
        lines = [f"案件 {number}（{kind}）已由 {event.actor_id} {how}。"]
        running = sorted((c.due_on, c.name) for c in case.clocks.values() if c.paused_on is None)
        if running:
            due_on, name = running[0]
            lines.append(f"最近的期限：{clock_name(name)}，到期日 {due_on}")
        message_kind = ASSIGNED
    else:
        return []
    lines += [f"时间：{when}", f"查看案件：{link}"]
    body = "\n".join(lines)
    told: list[Message] = []
    for user in dict.fromkeys(r for r in recipients if r and r != event.actor_id):
        told.append(
            Message(
                key=f"event:{case.id}:{event.originator_version}:{user}",
                kind=message_kind,
                recipient=user,
                subject=subject,
                body=body,
                link=case_path(number),
                case_id=case.id,
                case_number=number,
            )
        )
    return told


def record_for_events(
    session: Session,
    public_url: str,
    tz: Any,
    now: datetime,
    recorded: Iterable[tuple[Case, Sequence[Case.Event]]],
) -> int:
    """Write, in the command's own transaction, every notification its events call for; how many were new."""
    found = [
        m for case, events in recorded for e in events for m in messages_for_event(session, public_url, case, e, tz)
    ]
    return write(session, found, now) if found else 0


# -- writing ---------------------------------------------------------------------------------------


def write(session: Session, messages: Sequence[Message], now: datetime) -> int:
    """Store `messages` (a key already stored is left as it is) and one pending delivery per active channel of
    each new one's recipient (a digest skips the channels that muted digests). Returns how many were new."""
    stamp = now.astimezone(UTC)
    new: list[tuple[int, Message]] = []
    for m in messages:
        stmt = (
            dialect_insert(session, notifications)
            .values(
                dedupe_key=m.key,
                kind=m.kind,
                recipient=m.recipient,
                case_id=m.case_id,
                case_number=m.case_number,
                subject=m.subject[:300],
                body=m.body,
                link=m.link[:300],
                created_at=stamp,
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(notifications.c.id)
        )
        created = session.execute(stmt).scalar()
        if created is not None:
            new.append((created, m))
    if not new:
        return 0
    c = user_channels.c
    channels = session.execute(
        select(c.id, c.user_id, c.digest_muted).where(c.active.is_(True), c.user_id.in_({m.recipient for _, m in new}))
    ).all()
    rows = [
        {"notification_id": nid, "channel_id": ch.id, "status": "pending", "attempts": 0, "next_attempt_at": stamp}
        for nid, m in new
        for ch in channels
        if ch.user_id == m.recipient and not (m.kind == DIGEST and ch.digest_muted)
    ]
    if rows:
        session.execute(notification_deliveries.insert(), rows)
    return len(new)


def campaign_finished(session: Session, public_url: str, campaign: Any, now: datetime) -> int:
    """Tell whoever started a campaign that it has finished (in the transaction that marks it finished)."""
    path = f"/admin/campaigns/{campaign.campaign_id}"
    body = "\n".join(
        [
            f"要约行动（文号 {campaign.document_number}）已完成。",
            f"企业共 {campaign.total} 家：已发出要约 {campaign.opened} 家，未能发出 {campaign.failed} 家。",
            f"查看详情：{public_url}{path}",
        ]
    )
    message = Message(
        key=f"campaign:{campaign.campaign_id}:{campaign.created_by}",
        kind=CAMPAIGN,
        recipient=campaign.created_by,
        subject=f"【要约行动完成】{campaign.document_number}",
        body=body,
        link=path,
    )
    return write(session, [message], now)


def tell(cw: Casework, key: str, kind: str, recipients: Iterable[str], subject: str, body: str, link: str) -> int:
    """Tell each of `recipients` something that is no case's event (a report written); `key` names the occasion,
    so telling it again (a retried run) tells nobody twice. Returns how many were new."""
    messages = [Message(f"{key}:{user}", kind, user, subject, body, link) for user in sorted(set(recipients))]
    with cw.write_transaction() as session:
        return write(session, messages, cw.clock.now())


# -- the daily digest ------------------------------------------------------------------------------


def digest_messages(session: Session, public_url: str, policy: DeadlinePolicy, today: date) -> list[Message]:
    """For each assignee of an open case, the clocks due from `today` to 3 working days ahead, one message each."""
    until = policy.add_days(today, DIGEST_WORKING_DAYS, working_days=True)
    o, i = open_clocks.c, case_index.c
    rows = session.execute(
        select(i.assignee, i.case_id, i.number, i.kind, o.clock, o.due_on)
        .join(case_index, i.case_id == o.case_id)
        .where(
            o.paused == false(),
            o.due_on >= today,
            o.due_on <= until,
            i.is_open.is_(True),
            i.assignee.is_not(None),
        )
        .order_by(i.assignee, o.due_on, i.number)
    ).all()
    by_user: dict[str, list[Any]] = {}
    for r in rows:
        by_user.setdefault(r.assignee, []).append(r)
    messages = []
    for user, due in by_user.items():
        lines = [f"以下 {len(due)} 项期限将在 {until} 前（未来{DIGEST_WORKING_DAYS}个工作日内）到期："]
        lines += [
            f"- {r.number}（{chinese('kind', r.kind)}）{clock_name(r.clock)}，到期日 {r.due_on}："
            f"{public_url}{case_path(r.number)}"
            for r in due
        ]
        messages.append(
            Message(
                key=f"digest:{user}:{today.isoformat()}",
                kind=DIGEST,
                recipient=user,
                subject=f"【每日到期提醒】{today} 有 {len(due)} 项期限即将到期",
                body="\n".join(lines),
                link="/",
                case_id=due[0].case_id if len(due) == 1 else None,
                case_number=due[0].number if len(due) == 1 else None,
            )
        )
    return messages


# -- the inbox -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxEntry:
    id: int
    kind: str
    case_number: str | None
    subject: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "case_number": self.case_number,
            "subject": self.subject,
            "body": self.body,
            "link": self.link,
            "created_at": self.created_at,
            "read_at": self.read_at,
        }


class NotificationNotFound(NotFound):
    def __init__(self, notification_id: object) -> None:
        super().__init__(f"no notification {notification_id}")


def _utc(moment: datetime | None) -> datetime | None:
    """A stored time as UTC: SQLite gives back the UTC time it was given without its offset."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def inbox(
    session: Session, user_id: str, *, page: int = 1, per_page: int = 20, order: str = "unread"
) -> tuple[list[InboxEntry], int, int]:
    """A page of `user_id`'s notifications, unread first then newest (`order` "unread") or newest first ("time");
    with the total and the unread count."""
    n = notifications.c
    mine = n.recipient == user_id
    ordering = [n.id.desc()] if order == "time" else [n.read_at.is_not(None), n.id.desc()]
    rows = session.execute(
        select(n.id, n.kind, n.case_number, n.subject, n.body, n.link, n.created_at, n.read_at)
        .where(mine)
        .order_by(*ordering)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    total, unread = session.execute(
        select(func.count(), func.count().filter(n.read_at.is_(None))).select_from(notifications).where(mine)
    ).one()
    entries = [
        InboxEntry(
            r.id, r.kind, r.case_number, r.subject, r.body, r.link, _utc(r.created_at) or r.created_at, _utc(r.read_at)
        )
        for r in rows
    ]
    return entries, total, unread


def mark_read(session: Session, user_id: str, notification_id: int, now: datetime) -> datetime:
    """Mark one of `user_id`'s notifications read (once: a second call keeps the first time); when it was read."""
    n = notifications.c
    found = session.execute(select(n.read_at).where(n.id == notification_id, n.recipient == user_id)).one_or_none()
    if found is None:
        raise NotificationNotFound(notification_id)  # another person's is not found either
    if found.read_at is not None:
        read_at = _utc(found.read_at)
        assert read_at is not None
        return read_at
    stamp = now.astimezone(UTC)
    session.execute(
        update(notifications).where(and_(n.id == notification_id, n.read_at.is_(None))).values(read_at=stamp)
    )
    return stamp


# -- through the service ---------------------------------------------------------------------------


def send_digest(cw: Casework, today: date | None = None) -> int:
    """Write today's digest for every assignee with clocks due soon; a second run the same day writes none."""
    day = today or cw.clock.now().astimezone(cw.settings.tz).date()
    with cw.write_transaction() as session:
        found = digest_messages(session, cw.settings.public_url, cw.settings.policy, day)
        return write(session, found, cw.clock.now())


def list_inbox(
    cw: Casework, user_id: str, *, page: int = 1, per_page: int = 20, order: str = "unread"
) -> tuple[list[InboxEntry], int, int]:
    with cw.read_transaction() as session:
        return inbox(session, user_id, page=page, per_page=per_page, order=order)


def unread_count(cw: Casework, user_id: str) -> int:
    """How many of `user_id`'s notifications are unread: one count, for the badge every page of the workspace shows."""
    n = notifications.c
    with cw.read_transaction() as session:
        found = session.execute(select(func.count()).where(n.recipient == user_id, n.read_at.is_(None))).scalar_one()
    return int(found)


def read_notification(cw: Casework, user_id: str, notification_id: int) -> datetime:
    with cw.write_transaction() as session:
        return mark_read(session, user_id, notification_id, cw.clock.now())
