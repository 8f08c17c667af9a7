"""Offer campaigns (百分百要约行动): one written offer to a list of enterprises.

A campaign is stored with its whole target list before anything is opened, so opening can
run in batches, stop anywhere (a crash, a deploy) and resume: each enterprise's negotiation
is opened by a command whose id is derived from the campaign and the enterprise's place in
the list, in the same transaction that marks the target done, so a resumed run opens exactly
the ones still missing.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from aggregates.base import Case
from aggregates.errors import ActionNotAllowed, DomainError, InvalidCommand
from aggregates.values import checked_credit_code, is_whole, text
from aggregates.wage_negotiation import TABLE as NEGOTIATION_TABLE
from aggregates.wage_negotiation import WageNegotiation
from engine.accounts import get_org
from engine.errors import NotFound
from engine.notifications import campaign_finished
from engine.service import Actor, Casework
from engine.tables import campaign_targets, campaigns, case_index
from engine.unit_of_work import UnitOfWork
from engine.views import aware

MAX_TARGETS = 20_000
BATCH_SIZE = 50
"""Targets opened by one call of `open_targets` in a run: a flow's task, a step of a progress bar."""
CSV_COLUMNS = {
    "name": ("name", "enterprise", "企业名称", "单位名称"),
    "credit_code": ("credit_code", "统一社会信用代码", "信用代码"),
    "employees": ("employees", "职工人数", "职工数"),
}
OPENERS = NEGOTIATION_TABLE.creating.roles


class CampaignError(DomainError):
    """A campaign that cannot be started as given; `fields` names each problem."""

    code = "invalid_campaign"

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.fields.items()))

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "fields": self.fields}

    def problems(self) -> list[str]:
        """Each problem as a line for a person: `line 5: name: is required`, `document_number: is required`."""
        return [
            f"{key.replace('.', ': ', 1) if key.startswith('line ') else key}: {problem}"
            for key, problem in self.fields.items()
        ]


class CampaignNotFound(NotFound):
    def __init__(self, campaign_id: object) -> None:
        super().__init__(f"no campaign {campaign_id}")


@dataclass(frozen=True)
class Campaign:
    campaign_id: UUID
    document_number: str
    issuing_union: str
    org_unit: str
    terms: dict[str, Any]
    assignee: str | None
    total: int
    created_by: str
    created_role: str
    created_at: datetime
    flow_run_id: str | None
    finished_at: datetime | None
    opened: int = 0
    failed: int = 0

    @property
    def pending(self) -> int:
        return self.total - self.opened - self.failed

    @property
    def creator(self) -> Actor:
        return Actor(self.created_by, self.created_role)

    def to_dict(self) -> dict[str, Any]:
        return {
            "campaign_id": str(self.campaign_id),
            "document_number": self.document_number,
            "issuing_union": self.issuing_union,
            "org_unit": self.org_unit,
            "terms": self.terms,
            "assignee": self.assignee,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "flow_run_id": self.flow_run_id,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "counts": {"total": self.total, "opened": self.opened, "failed": self.failed, "pending": self.pending},
        }


# -- input -----------------------------------------------------------------------------------


ENCODINGS = ("utf-8", "gb18030")
"""What Excel and WPS save a CSV file as in a Chinese office: UTF-8 (with or without a BOM) or GB18030 (GBK)."""
_READ = "campaign files are read as UTF-8 (with or without BOM) or GB18030/GBK; save it from Excel or WPS as CSV"


def decode_csv(data: bytes, encoding: str | None = None) -> str:
    """The text of a campaign file: `encoding` if given, else UTF-8 (a BOM dropped), else GB18030 if the bytes
    are valid GB18030 (GBK files are; GB18030 bytes are almost never valid UTF-8, so the order decides nothing)."""
    if encoding is not None and encoding not in ENCODINGS:
        raise CampaignError({"encoding": f"must be one of {', '.join(ENCODINGS)}"})
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data:
        raise CampaignError({"csv": f"UTF-16 text (or not text at all); {_READ}"})
    names = (encoding,) if encoding else ("utf-8",) if data.startswith(codecs.BOM_UTF8) else ENCODINGS
    first: UnicodeDecodeError | None = None
    for name in names:
        try:
            return data.decode("utf-8-sig" if name == "utf-8" else name)
        except UnicodeDecodeError as e:
            first = first or e
    at = first.start if first else 0
    line = data[:at].count(b"\n") + 1
    raise CampaignError(
        {"csv": f"not {' or '.join(n.upper() for n in names)} text (line {line} holds byte 0x{data[at]:02X}); {_READ}"}
    )


def read_csv(content: str) -> list[dict[str, Any]]:
    """Enterprises from CSV text with a header row (name, credit_code, employees, or the Chinese headers).

    Every problem is reported at once, each at the file's own line (`line 5.name`), with every check
    `check_enterprises` makes. A quoted cell that runs past its line is refused: no value of a campaign holds a
    line break, and an unclosed quote would otherwise swallow the rows after it into one enterprise."""
    bad: dict[str, str] = {}
    records = _records(content.lstrip("\ufeff"), bad)
    header = next(((line, cells) for line, cells in records if any(c.strip() for c in cells)), None)
    found = [c.strip() for c in header[1]] if header else []
    index = {h.lower(): i for i, h in reversed(list(enumerate(found)))}  # the first of two same headers
    columns = {
        key: next((index[a.lower()] for a in aliases if a.lower() in index), None)
        for key, aliases in CSV_COLUMNS.items()
    }
    if header is None or columns["name"] is None:
        raise CampaignError(
            _by_line(
                {
                    **bad,
                    "csv": "the header row needs a 'name' (企业名称) column; "
                    f"found: {', '.join(h for h in found if h) or 'no header'}",
                }
            )
        )
    rows, lines = [], []
    for line, cells in records:
        if line <= header[0]:
            continue
        raw = {key: cells[i].strip() if i is not None and i < len(cells) else "" for key, i in columns.items()}
        if not any(raw.values()):
            continue  # a blank line, or a row of empty cells
        row: dict[str, Any] = {"name": raw["name"]}
        if columns["credit_code"] is not None:
            row["credit_code"] = raw["credit_code"]
        if raw["employees"]:
            if raw["employees"].isdecimal():
                row["employees"] = int(raw["employees"])
            else:
                bad[f"line {line}.employees"] = f"{raw['employees']!r} is not a whole number"
        rows.append(row)
        lines.append(line)
    try:
        check_enterprises(rows, place=lambda i: f"line {lines[i]}")
    except CampaignError as e:
        bad.update({("csv" if key == "enterprises" else key): problem for key, problem in e.fields.items()})
    if bad:
        raise CampaignError(_by_line(bad))
    return rows


def _records(content: str, bad: dict[str, str]) -> list[tuple[int, list[str]]]:
    """(the line a record starts on, its cells) for every record; a quote problem is noted in `bad` by line."""
    reader = csv.reader(io.StringIO(content, newline=None), strict=True)
    records: list[tuple[int, list[str]]] = []
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return records
        except csv.Error as e:
            if "end of data" in str(e):
                bad[f"line {start}"] = _unclosed("the end of the file")
            elif reader.line_num > start:
                bad[f"line {start}"] = _unclosed(f"line {reader.line_num}")
            elif "expected after" in str(e):
                bad[f"line {start}"] = 'stray quote: a cell that starts with " must end with " before the next comma'
            else:
                bad[f"line {start}"] = f"cannot be read as CSV ({e})"
            continue
        if reader.line_num > start:
            bad[f"line {start}"] = _unclosed(f"line {reader.line_num}")
            continue
        records.append((start, cells))


def _unclosed(to: str) -> str:
    return f"unclosed quote: the quoted cell opened on this line runs on to {to} (a cell may not hold a line break)"


def _by_line(bad: Mapping[str, str]) -> dict[str, str]:
    """Problems in the order of the file's lines (`line 5` before `line 12`), anything else first."""

    def order(key: str) -> tuple[int, str]:
        number = key.removeprefix("line ").partition(".")[0]
        return (int(number) if key.startswith("line ") and number.isdigit() else 0, key)

    return {key: bad[key] for key in sorted(bad, key=order)}


def _index(i: int) -> str:
    return f"enterprises[{i}]"


def check_enterprises(
    enterprises: Sequence[Mapping[str, Any]], place: Callable[[int], str] = _index
) -> list[dict[str, Any]]:
    """Every enterprise valid and listed once (by credit code, else by name); every problem named, each
    enterprise by `place` (its index in the list, or its line in a file)."""
    bad: dict[str, str] = {}
    if not enterprises:
        raise CampaignError({"enterprises": "at least one enterprise is required"})
    if len(enterprises) > MAX_TARGETS:
        raise CampaignError({"enterprises": f"at most {MAX_TARGETS} enterprises per campaign; split the list"})
    seen: dict[str, int] = {}
    clean = []
    for i, e in enumerate(enterprises):
        name = text(e.get("name"))
        code = checked_credit_code(bad, e.get("credit_code"), f"{place(i)}.credit_code")
        employees = e.get("employees")
        if not name:
            bad[f"{place(i)}.name"] = "is required"
        elif len(name) > 200:
            bad[f"{place(i)}.name"] = "must be at most 200 characters"
        if employees is not None and not (is_whole(employees) and employees >= 0):
            bad[f"{place(i)}.employees"] = "must be a whole number, zero or more"
        key = f"code:{code}" if code else f"name:{name}"
        if name and key in seen:
            bad[place(i)] = f"lists the same enterprise as {place(seen[key])}"
        seen.setdefault(key, i)
        clean.append({"name": name, "credit_code": code, "employees": employees})
    if bad:
        raise CampaignError(bad)
    return clean


# -- creating and reading -------------------------------------------------------------------------


def create_campaign(
    cw: Casework,
    actor: Actor,
    *,
    document_number: str,
    issuing_union: str,
    org_unit: str,
    enterprises: Sequence[Mapping[str, Any]],
    terms: Mapping[str, Any] | None = None,
    assignee: str | None = None,
) -> Campaign:
    """Store a campaign and its targets in one transaction; nothing is opened yet. The org unit must exist:
    its negotiations would belong to no one's unit otherwise."""
    targets = check_campaign(
        cw,
        actor,
        document_number=document_number,
        issuing_union=issuing_union,
        org_unit=org_unit,
        enterprises=enterprises,
        terms=terms,
    )
    document_number, issuing_union, org_unit = text(document_number), text(issuing_union), text(org_unit)
    campaign_id, now = uuid.uuid4(), _stored_now(cw)
    with cw.write_transaction() as session:
        _check_document_number(session, document_number)  # again: another campaign may have taken it meanwhile
        session.execute(
            insert(campaigns).values(
                campaign_id=campaign_id,
                document_number=document_number,
                issuing_union=issuing_union,
                org_unit=org_unit,
                terms=json.dumps(dict(terms or {}), default=str),
                assignee=assignee,
                total=len(targets),
                created_by=actor.id,
                created_role=actor.role,
                created_at=now,
            )
        )
        session.execute(
            insert(campaign_targets),
            [
                {"campaign_id": campaign_id, "seq": seq, "enterprise": json.dumps(e, ensure_ascii=False)}
                for seq, e in enumerate(targets, start=1)
            ],
        )
    return get_campaign(cw, campaign_id)


def check_campaign(
    cw: Casework,
    actor: Actor,
    *,
    document_number: str,
    issuing_union: str,
    org_unit: str,
    enterprises: Sequence[Mapping[str, Any]],
    terms: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every check `create_campaign` makes, storing nothing: a preview can name every problem before anything is
    kept. Returns the targets as they would be stored."""
    if actor.role not in OPENERS:
        raise CampaignError({"role": f"role '{actor.role}' may not issue offers; roles that may: {', '.join(OPENERS)}"})
    bad = {}
    document_number, issuing_union, org_unit = text(document_number), text(issuing_union), text(org_unit)
    if not document_number:
        bad["document_number"] = "is required"
    elif len(document_number) > 120:
        bad["document_number"] = "must be at most 120 characters"
    if not issuing_union:
        bad["issuing_union"] = "is required"
    if not org_unit:
        bad["org_unit"] = "is required"
    elif get_org(cw, org_unit) is None:
        bad["org_unit"] = f"no org unit {org_unit!r}; add it first"
    if bad:
        raise CampaignError(bad)
    targets = check_enterprises(enterprises)
    _dry_run(
        cw, actor, targets, document_number=document_number, issuing_union=issuing_union, org_unit=org_unit, terms=terms
    )
    with cw.read_transaction() as session:
        _check_document_number(session, document_number)
    return targets


def _check_document_number(session: Session, document_number: str) -> None:
    """A document number belongs to one campaign, and to no negotiation opened before it."""
    other = session.execute(
        select(campaigns.c.campaign_id).where(campaigns.c.document_number == document_number)
    ).scalar()
    if other is not None:
        raise CampaignError(
            {"document_number": f"campaign {other} already issued {document_number}; resume that campaign instead"}
        )
    existing = session.execute(
        select(func.count())
        .select_from(case_index)
        .where(case_index.c.kind == "wage_negotiation", case_index.c.reference == document_number)
    ).scalar_one()
    if existing:
        raise CampaignError(
            {
                "document_number": f"{existing} negotiation(s) already carry {document_number}; "
                "a campaign needs a document number of its own"
            }
        )


def _dry_run(cw: Casework, actor: Actor, targets: list[dict[str, Any]], **offer: Any) -> None:
    """Build each offer in memory with the aggregate's own rules (no I/O), so bad terms or an
    enterprise the aggregate refuses stop the campaign before anything is stored."""
    ctx = cw.context(actor, "campaign-check")
    bad: dict[str, str] = {}
    for i, enterprise in enumerate(targets):
        try:
            WageNegotiation.issue_offer(
                ctx, case_id=uuid.uuid4(), number="(check)", enterprise=enterprise, covers=len(targets), **offer
            )
        except InvalidCommand as e:
            for field, problem in e.fields.items():
                bad[f"enterprises[{i}].{field[11:]}" if field.startswith("enterprise.") else field] = problem
        except ActionNotAllowed as e:
            raise CampaignError({"role": e.why or str(e)}) from None
    if bad:
        raise CampaignError(bad)


def get_campaign(cw: Casework, campaign_id: UUID | str) -> Campaign:
    cid = _uuid(campaign_id)
    t = campaign_targets.c
    with cw.read_transaction() as session:
        row = session.execute(select(campaigns).where(campaigns.c.campaign_id == cid)).one_or_none()
        if row is None:
            raise CampaignNotFound(campaign_id)
        opened, failed = session.execute(
            select(func.count(t.case_id), func.count(t.error)).where(t.campaign_id == cid)
        ).one()
    return _campaign(cw, row, opened, failed)


def list_campaigns(cw: Casework, org_unit: str | None = None) -> list[Campaign]:
    """Campaigns of `org_unit` and below (all when None), newest first, with their counts."""
    from engine.database import in_unit

    t = campaign_targets.c
    counts = (
        select(t.campaign_id, func.count(t.case_id).label("opened"), func.count(t.error).label("failed"))
        .group_by(t.campaign_id)
        .subquery()
    )
    query = (
        select(campaigns, counts.c.opened, counts.c.failed)
        .join(counts, counts.c.campaign_id == campaigns.c.campaign_id, isouter=True)
        .order_by(campaigns.c.created_at.desc())
    )
    if org_unit:
        query = query.where(in_unit(campaigns.c.org_unit, org_unit))
    with cw.read_transaction() as session:
        return [_campaign(cw, r, r.opened or 0, r.failed or 0) for r in session.execute(query)]


def set_flow_run(cw: Casework, campaign_id: UUID, flow_run_id: str) -> None:
    with cw.write_transaction() as session:
        session.execute(update(campaigns).where(campaigns.c.campaign_id == campaign_id).values(flow_run_id=flow_run_id))


def pending_targets(cw: Casework, campaign_id: UUID) -> list[int]:
    t = campaign_targets.c
    with cw.read_transaction() as session:
        return list(
            session.execute(
                select(t.seq)
                .where(t.campaign_id == campaign_id, t.case_id.is_(None), t.error.is_(None))
                .order_by(t.seq)
            ).scalars()
        )


def failures(cw: Casework, campaign_id: UUID) -> list[dict[str, Any]]:
    t = campaign_targets.c
    with cw.read_transaction() as session:
        rows = session.execute(
            select(t.seq, t.enterprise, t.error)
            .where(t.campaign_id == campaign_id, t.error.is_not(None))
            .order_by(t.seq)
        )
        return [{"seq": r.seq, "enterprise": json.loads(r.enterprise)["name"], "error": r.error} for r in rows]


def opened_cases(cw: Casework, campaign_id: UUID, limit: int = 100) -> list[dict[str, Any]]:
    """The first `limit` targets opened, in the list's order, each with the number of the negotiation it opened."""
    t = campaign_targets.c
    with cw.read_transaction() as session:
        rows = session.execute(
            select(t.seq, t.enterprise, t.number)
            .where(t.campaign_id == campaign_id, t.case_id.is_not(None))
            .order_by(t.seq)
            .limit(limit)
        )
        return [{"seq": r.seq, "enterprise": json.loads(r.enterprise)["name"], "number": r.number} for r in rows]


def finish(cw: Casework, campaign_id: UUID) -> Campaign:
    """Mark the campaign finished once nothing is pending."""
    campaign = get_campaign(cw, campaign_id)
    if campaign.pending == 0 and campaign.finished_at is None:
        with cw.write_transaction() as session:
            marked = session.execute(
                update(campaigns)
                .where(campaigns.c.campaign_id == campaign_id, campaigns.c.finished_at.is_(None))
                .values(finished_at=_stored_now(cw))
                .returning(campaigns.c.campaign_id)
            ).first()
            if marked is not None:  # its starter is told in the same transaction, once
                campaign_finished(session, cw.settings.public_url, campaign, cw.clock.now())
        campaign = get_campaign(cw, campaign_id)
    return campaign


# -- opening ---------------------------------------------------------------------------------------


def run_campaign(
    cw: Casework,
    campaign_id: UUID | str,
    *,
    batch_size: int = BATCH_SIZE,
    open_batch: Callable[[list[int]], Mapping[str, int]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Campaign, dict[str, int]]:
    """Open every target still pending, `batch_size` at a time, then mark the campaign finished; returns it with
    this run's counts by outcome. `open_batch` opens one batch (by default here, with `open_targets`; a flow
    passes its retried task); `progress(done, total)` is told before the first batch and after each one.
    A run stopped anywhere is finished by running again: only what is still pending is opened."""
    campaign = get_campaign(cw, campaign_id)
    pending = pending_targets(cw, campaign.campaign_id)
    opener = open_batch or (lambda seqs: open_targets(cw, campaign, seqs))
    totals = {"opened": 0, "already_open": 0, "failed": 0}
    report = progress or (lambda done, total: None)
    done = campaign.total - len(pending)
    report(done, campaign.total)
    size = max(batch_size, 1)
    for start in range(0, len(pending), size):
        part = pending[start : start + size]
        for outcome, n in opener(part).items():
            totals[outcome] += n
        done += len(part)
        report(done, campaign.total)
    return finish(cw, campaign.campaign_id), totals


def command_id(campaign_id: UUID, seq: int) -> str:
    return f"campaign/{campaign_id}/{seq}"


def open_targets(
    cw: Casework, campaign: Campaign, seqs: Iterable[int], flow_run_id: str | None = None
) -> dict[str, int]:
    """Open the negotiations of targets `seqs`, one transaction each; a target the aggregate refuses is
    recorded as failed with the refusal and the campaign goes on. Returns counts by outcome."""
    actor = Actor(campaign.created_by, campaign.created_role, flow_run_id=flow_run_id)
    counts = {"opened": 0, "already_open": 0, "failed": 0}
    for seq in seqs:
        try:
            result = cw.transact(
                actor, "issue_offer", _opener(cw, campaign, seq), command_id=command_id(campaign.campaign_id, seq)
            )
        except DomainError as e:
            _record_failure(cw, campaign.campaign_id, seq, str(e))
            counts["failed"] += 1
            continue
        counts["already_open" if result.replayed else "opened"] += 1
    return counts


def _opener(cw: Casework, campaign: Campaign, seq: int) -> Callable[[UnitOfWork], Case]:
    def work(uow: UnitOfWork) -> Case:
        t = campaign_targets.c
        row = uow.session.execute(
            select(t.enterprise, t.case_id).where(t.campaign_id == campaign.campaign_id, t.seq == seq)
        ).one()
        enterprise = json.loads(row.enterprise)
        case = uow.open(
            "wage_negotiation",
            org_unit=campaign.org_unit,
            assignee=campaign.assignee,
            enterprise=enterprise,
            issuing_union=campaign.issuing_union,
            document_number=campaign.document_number,
            terms=campaign.terms,
            first_of_document=seq == 1,
            covers=campaign.total,
        )
        uow.session.execute(
            update(campaign_targets)
            .where(t.campaign_id == campaign.campaign_id, t.seq == seq)
            .values(case_id=case.id, number=case.number)
        )
        return case

    return work


def _record_failure(cw: Casework, campaign_id: UUID, seq: int, error: str) -> None:
    t = campaign_targets.c
    with cw.write_transaction() as session:
        session.execute(
            update(campaign_targets)
            .where(t.campaign_id == campaign_id, t.seq == seq, t.case_id.is_(None))
            .values(error=error[:2000])
        )


def _stored_now(cw: Casework) -> datetime:
    """Now, in UTC, to store: SQLite keeps a time without its offset and gives it back as UTC (a local time stored
    there would read back hours off)."""
    return cw.clock.now().astimezone(UTC)


def _campaign(cw: Casework, row: Any, opened: int, failed: int) -> Campaign:
    tz = cw.settings.tz
    return Campaign(
        campaign_id=row.campaign_id,
        document_number=row.document_number,
        issuing_union=row.issuing_union,
        org_unit=row.org_unit,
        terms=json.loads(row.terms),
        assignee=row.assignee,
        total=row.total,
        created_by=row.created_by,
        created_role=row.created_role,
        created_at=aware(row.created_at, tz),
        flow_run_id=row.flow_run_id,
        finished_at=aware(row.finished_at, tz) if row.finished_at else None,
        opened=opened,
        failed=failed,
    )


def _uuid(value: UUID | str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise CampaignNotFound(value) from None
