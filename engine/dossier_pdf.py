"""A case's dossier as a printable PDF (案件卷宗) that can be checked against the store later.

The PDF shows the case's summary, its open clocks, every event and the result of verifying its hash chain, masked
for the role it is made for, as the CSV dossier is. It prints the SHA-256 of its content, which is precisely:

    SHA-256 of the UTF-8 bytes of json.dumps(dossier_content(cw, case, role=role), sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)

`dossier_content` is the data the PDF is made from: the format name, the role, the case's state (masked), its open
clocks (without the "overdue" mark, which depends on the day), every event (masked data, hashes in full), and the
verification result; times are ISO-8601 in UTC. Nothing that changes with the day of printing is in it: not the
generation time, not who generated it, not the checkpoint. So anyone can recompute it from the store for the same
case and role (`check_dossier`, `casework dossier check`) and learn whether the printed dossier still shows what
the store holds: a new event, a changed state or an altered store gives another hash. The content is also attached
to the PDF as `dossier.json`, with the printed hash and the case number in the PDF's subject, so a file can be
checked without retyping anything.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from uuid import UUID

from engine.access import may
from engine.audit import history, verify_case
from engine.case_exports import stage_label
from engine.errors import CaseIntegrityError
from engine.names import chinese
from engine.notifications import clock_name
from engine.service import Casework
from engine.views import case_view, event_data_for, jsonable

FORMAT = "casework-dossier/1"
"""The name of the hashed content's layout: a later layout gets another name, and the check says which it read."""
ATTACHMENT = "dossier.json"
"""The name of the hashed content attached to the PDF."""
_CASE_FIELDS: tuple[str, ...] = (
    "number",
    "kind",
    "stage",
    "is_open",
    "org_unit",
    "assignee",
    "parties",
    "flags",
    "opened_at",
    "opened_by",
    "updated_at",
    "version",
    "head_hash",
    "links",
    "notes",
    "details",
)
"""The case's state in the hashed content: its view without what depends on the day (allowed actions)."""
_TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class PdfDossier:
    number: str
    content: bytes
    """The PDF file."""
    sha256: str
    """The SHA-256 printed on it (of the canonical JSON of `dossier_content`)."""

    @property
    def filename(self) -> str:
        return f"{self.number}-dossier.pdf"


@dataclass(frozen=True)
class DossierCheck:
    number: str
    role: str | None
    printed: str
    """The SHA-256 the dossier carries."""
    current: str | None
    """The SHA-256 of the same content made from the store now; None when the case cannot be read (`problem`)."""
    problem: str | None = None

    @property
    def matches(self) -> bool:
        return self.current == self.printed


def dossier_content(cw: Casework, ref: UUID | str, *, role: str | None) -> dict[str, Any]:
    """What the dossier shows, as plain JSON data (see the module's docstring): raises CaseIntegrityError for a case
    whose hash chain is broken, as every read of such a case does."""
    case_id = cw.resolve(ref)
    verification = verify_case(cw, case_id)
    if verification.first_break is not None:
        b = verification.first_break
        raise CaseIntegrityError(case_id, b.number, b.version, b.problem)
    case = cw.get(case_id)
    view = case_view(case, role, None, UTC, policy=cw.settings.policy, latest_notes=None)
    cls = type(case)
    events = [{**jsonable(vars(e), UTC), "data": event_data_for(role, cls, e.data, UTC)} for e in history(cw, case_id)]
    clocks = [{k: v for k, v in c.items() if k != "overdue"} for c in view["clocks"]]
    return {
        "format": FORMAT,
        "role": role,
        "case": {k: view[k] for k in _CASE_FIELDS},
        "clocks": clocks,
        "events": events,
        "verification": {"ok": verification.ok, "events": verification.events},
    }


def canonical_bytes(content: dict[str, Any]) -> bytes:
    """The bytes the dossier's SHA-256 is taken of."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def content_sha256(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(content)).hexdigest()


def checkpoint_for(cw: Casework, case_id: UUID, version: int) -> dict[str, Any] | None:
    """The latest signed store checkpoint covering the case's latest covered event (at most `version`), with that
    event's inclusion proof (engine/checkpoints.py) and whether it checks, for the dossier to print; None while no
    checkpoint covers any of its events. The events before it are bound to it by the case's hash chain. Not part of
    the hashed content: a later checkpoint covers the same events."""
    from sqlalchemy import func, select

    from engine.checkpoints import CheckpointError, check_proof, installation_public_key, prove_event
    from engine.tables import checkpoint_leaves

    with cw.read_transaction() as session:
        covered = session.execute(
            select(func.max(checkpoint_leaves.c.originator_version)).where(
                checkpoint_leaves.c.originator_id == case_id, checkpoint_leaves.c.originator_version <= version
            )
        ).scalar()
    if covered is None:
        return None
    try:
        proof = prove_event(cw.sql_engine, case_id, int(covered))
        check_proof(proof, public_key=installation_public_key(cw.settings))
    except CheckpointError as e:
        return {"version": int(covered), "problem": str(e)}
    return {
        "version": int(covered),
        "checkpoint": proof["checkpoint"],
        "leaf_index": proof["leaf_index"],
        "audit_path": proof["audit_path"],
        "problem": None,
    }


def dossier_pdf(
    cw: Casework, ref: UUID | str, *, role: str | None, generated_by: str, generated_at: datetime
) -> PdfDossier:
    """The case's dossier as a PDF for `role` (None: everything, for the operator), naming who made it and when.
    Who may export it (engine/access.py `export_dossier`) and whether the case is in their unit is the caller's to
    check."""
    from weasyprint import HTML, Attachment  # loaded with the first PDF: ~1 s, and nothing else needs it

    case_id = cw.resolve(ref)
    content = dossier_content(cw, case_id, role=role)
    digest = content_sha256(content)
    tz = cw.settings.tz
    case = content["case"]
    html = (
        _environment()
        .get_template("dossier.html")
        .render(
            case=case,
            kind_name=chinese("kind", case["kind"]),
            stage_name=stage_label(case["kind"], case["stage"]),
            details=[(_term("field", k), _shown(v)) for k, v in case["details"].items()],
            clocks=[_clock_row(c) for c in content["clocks"]],
            events=[_event_row(case["kind"], e, tz) for e in content["events"]],
            verification=verification_sentence(content),
            role=role,
            masked=role is not None and not may(role, "see_personal_data"),
            opened_at=_local(case["opened_at"], tz),
            links=_shown(case["links"]),
            attachment=ATTACHMENT,
            sha256=digest,
            checkpoint=checkpoint_for(cw, case_id, case["version"]),
            generated_at=_local(generated_at.isoformat(), tz),
            generated_by=generated_by,
            timezone=str(tz),
        )
    )
    attachment = Attachment(string=canonical_bytes(content).decode("utf-8"), base_url=".", name=ATTACHMENT)
    pdf = HTML(string=html, base_url=str(_TEMPLATES)).write_pdf(attachments=[attachment])
    assert pdf is not None  # write_pdf without a target returns the bytes
    return PdfDossier(case["number"], pdf, digest)


def verification_sentence(content: dict[str, Any]) -> str:
    """The verification result in plain words (a dossier is only made of a case whose chain holds)."""
    n, version = content["verification"]["events"], content["case"]["version"]
    return (
        f"哈希链校验通过：本案全部 {n} 个事件已按存储内容逐一重新计算哈希，前后相接无缺；"
        f"最后一个事件（版本 {version}）与案件索引记录一致，未发现删除、调换或改动。"
    )


def check_dossier(cw: Casework, number: str, *, role: str | None, sha256: str) -> DossierCheck:
    """Whether a dossier printed for `role` with `sha256` still shows what the store holds for case `number`."""
    printed = sha256.strip().lower()
    try:
        current = content_sha256(dossier_content(cw, number, role=role))
    except CaseIntegrityError as e:
        return DossierCheck(number, role, printed, None, str(e))
    return DossierCheck(number, role, printed, current)


@dataclass(frozen=True)
class PrintedDossier:
    number: str
    role: str | None
    sha256: str
    """The SHA-256 of the attached content, which is the hash printed on it unless the file was altered."""
    subject: str
    """The PDF's subject line: the printed hash as the PDF itself names it."""


def read_printed(pdf: bytes) -> PrintedDossier:
    """The case number, role and hash a dossier PDF carries, from its attached content (ValueError if it has none)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(pdf))
        attached = reader.attachments.get(ATTACHMENT)
    except PyPdfError as e:
        raise ValueError(f"this file cannot be read as a PDF ({e})") from e
    if not attached:
        raise ValueError(f"this PDF is not a case dossier: it has no {ATTACHMENT} attached")
    content = json.loads(attached[0])
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise ValueError(f"this PDF's {ATTACHMENT} is not a {FORMAT} dossier")
    subject = str(reader.metadata.get("/Subject", "")) if reader.metadata else ""
    return PrintedDossier(content["case"]["number"], content["role"], content_sha256(content), subject)


# -- rendering ---------------------------------------------------------------------------------------------------


@functools.cache
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html"]))


def _term(context: str, key: str) -> str:
    return chinese(context, key)


def _local(iso: str | None, tz: tzinfo) -> str:
    """A stored UTC time as the reader's local time, to the minute."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _shown(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _clock_row(clock: dict[str, Any]) -> dict[str, Any]:
    name = clock["name"]
    named = _term("clock", name)
    return {
        "name": clock_name(name) if named == name.replace("_", " ") else named,
        "key": name,
        "started_on": clock.get("started_on") or "—",
        "due_on": clock.get("due_on") or "—",
        "paused_on": clock.get("paused_on"),
        "working_days": clock.get("working_days"),
    }


def _event_row(kind: str, event: dict[str, Any], tz: tzinfo) -> dict[str, Any]:
    return {
        **event,
        "action_name": _term("action", event["action"]),
        "occurred": _local(event["occurred_at"], tz),
        "recorded": _local(event["recorded_at"], tz),
        "stage_name": stage_label(kind, event["stage"]),
        "data_text": _shown(event["data"]),
    }
