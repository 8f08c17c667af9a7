"""The case dossier as a PDF: what a reader sees on it (read back with poppler's pdftotext), the SHA-256 it prints,
and the check of a printed dossier against the store, which holds until the case changes."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from engine.accounts import add_org, add_user
from engine.dossier_pdf import (
    ATTACHMENT,
    canonical_bytes,
    check_dossier,
    content_sha256,
    dossier_content,
    dossier_pdf,
    read_printed,
)
from engine.service import Actor, Casework
from tests.integration.scenarios import MEDIATOR, SUPERVISOR, file_dispute

WHEN = datetime(2026, 3, 5, 10, 30, tzinfo=UTC)
HEADINGS = ("案件卷宗", "案件概况", "案件详情", "未结期限", "全部事件", "哈希链校验", "卷宗校验码")


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "dossier.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True).stdout.decode()


def _case(cw: Casework, *, withdrawn: bool = True) -> str:
    """A dispute filed, accepted, noted and (unless not `withdrawn`) withdrawn by a supervisor with a reason."""
    opened = file_dispute(cw)
    cw.execute(opened.case_id, "accept", MEDIATOR)
    cw.execute(opened.case_id, "add_note", MEDIATOR, text="已电话联系企业人事部门")
    if withdrawn:
        cw.execute(opened.case_id, "withdraw", SUPERVISOR, reason="申请人与企业自行和解")
    return opened.number


def test_the_pdf_shows_the_case_every_event_the_verification_and_the_hash_of_its_content(
    cw: Casework, tmp_path: Path
) -> None:
    number = _case(cw)
    dossier = dossier_pdf(cw, number, role="supervisor", generated_by="gusu-supervisor", generated_at=WHEN)
    assert dossier.content.startswith(b"%PDF-") and dossier.filename == f"{number}-dossier.pdf"
    text = pdf_text(dossier.content, tmp_path)
    assert number in text and "劳动争议调解" in text
    for heading in HEADINGS:
        assert heading in text, heading
    timeline = text[text.index("全部事件（共 4 个）") : text.index("哈希链校验")]
    for version, action, chinese in (
        (1, "file", "登记申请"),
        (2, "accept", "受理"),
        (3, "add_note", "添加备注"),
        (4, "withdraw", "撤回"),
    ):
        assert f"v{version}" in timeline and action in timeline and chinese in timeline, action
    assert "申请人与企业自行和解" in "".join(timeline.split()) and "supervisor-1" in timeline  # a cell wraps lines
    assert "哈希链校验通过：本案全部 4 个事件" in text
    assert "王建国" in text  # a supervisor sees personal data
    assert "无未结期限" in text  # a withdrawn case's clocks are closed
    # the printed SHA-256 is that of the canonical JSON of the dossier's content, recomputable from the store
    content = dossier_content(cw, number, role="supervisor")
    expected = hashlib.sha256(
        json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    assert dossier.sha256 == expected and f"SHA-256：{expected}" in text.replace(" ", "")
    assert "生成时间：2026-03-0518:30" in text.replace(" ", "")  # in the installation's zone, Asia/Shanghai
    assert "gusu-supervisor" in text
    pages = text.count("\f")  # pdftotext ends each page with a form feed
    assert pages >= 2 and f"第1页/共{pages}页" in "".join(text.split()) and f"第{pages}页/共{pages}页" in text
    printed = read_printed(dossier.content)
    assert (printed.number, printed.role, printed.sha256) == (number, "supervisor", expected)
    assert expected in printed.subject

    # the same page as a picture: A4 (210 x 297 mm) at 50 dpi, 414 x 585 pixels as pdftoppm rounds them
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(tmp_path / "dossier.pdf"),
                    str(tmp_path / "page")], check=True)  # fmt: skip
    (image,) = tmp_path.glob("page*.png")
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(image.read_bytes()[16:20], "big"), int.from_bytes(image.read_bytes()[20:24], "big")
    assert (width, height) == (414, 585)


def test_an_auditors_dossier_is_masked_as_the_csv_is_and_hashes_otherwise(cw: Casework, tmp_path: Path) -> None:
    number = _case(cw)
    dossier = dossier_pdf(cw, number, role="auditor", generated_by="gusu-auditor", generated_at=WHEN)
    text = pdf_text(dossier.content, tmp_path)
    assert "王**" in text and "王建国" not in text and "32050219800101123X" not in text
    assert "个人信息已作遮蔽" in text
    assert "32050219800101123X" not in json.dumps(dossier_content(cw, number, role="auditor"), ensure_ascii=False)
    supervisor = dossier_pdf(cw, number, role="supervisor", generated_by="x", generated_at=WHEN)
    assert dossier.sha256 != supervisor.sha256
    assert check_dossier(cw, number, role="auditor", sha256=dossier.sha256).matches
    assert not check_dossier(cw, number, role="supervisor", sha256=dossier.sha256).matches


def test_the_hash_does_not_depend_on_when_or_by_whom_it_was_printed(cw: Casework) -> None:
    number = _case(cw)
    first = dossier_pdf(cw, number, role="auditor", generated_by="a", generated_at=WHEN)
    later = dossier_pdf(cw, number, role="auditor", generated_by="b", generated_at=datetime(2027, 1, 1, tzinfo=UTC))
    assert first.sha256 == later.sha256 and first.content != later.content


@pytest.fixture
def casework_cli(cw: Casework, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The command line on the test's own database (SQLite file or PostgreSQL schema)."""
    monkeypatch.setenv("CASEWORK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CASEWORK_DATABASE_URL", cw.settings.database_url)
    for name in ("CASEWORK_CIPHER_KEY", "CASEWORK_PERSON_KEY", "CASEWORK_POLICY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_the_check_command_says_matches_until_the_case_changes(
    cw: Casework, casework_cli: CliRunner, tmp_path: Path
) -> None:
    number = _case(cw, withdrawn=False)
    add_org(cw, "suzhou", "苏州市总工会")
    add_org(cw, "suzhou.gusu", "姑苏区总工会")
    add_user(cw, "gusu-auditor", "审计", "auditor", "suzhou.gusu", by=Actor("tests", "admin"))
    add_user(cw, "gusu-mediator", "调解", "mediator", "suzhou.gusu", by=Actor("tests", "admin"))

    def run(*args: str) -> tuple[int, str]:
        result = casework_cli.invoke(main, list(args), catch_exceptions=False, terminal_width=300)
        return result.exit_code, result.output

    code, out = run("dossier", "pdf", number, "--as", "gusu-auditor")
    assert code == 0, out
    written = tmp_path / f"{number}-dossier.pdf"
    printed = read_printed(written.read_bytes())
    assert printed.role == "auditor" and printed.sha256 in out
    (tmp_path / "read").mkdir()
    text = pdf_text(written.read_bytes(), tmp_path / "read")
    (clock,) = cw.get(number).clocks.values()
    assert "gusu-auditor" in text and "调解期限" in text and clock.due_on.isoformat() in text
    code, out = run("dossier", "pdf", number, "--out", str(tmp_path / "full.pdf"))
    assert code == 0 and read_printed((tmp_path / "full.pdf").read_bytes()).role is None
    code, out = run("dossier", "pdf", number, "--as", "gusu-mediator")
    assert code == 1 and "may not export a dossier" in out

    code, out = run("dossier", "check", str(written))
    assert code == 0 and "matches" in out and "does not match" not in out, out
    paper = ("dossier", "check", "--case", number, "--sha256", printed.sha256.upper(), "--role", "auditor")
    code, out = run(*paper)
    assert code == 0 and "matches" in out and "does not match" not in out, out
    code, out = run("dossier", "check", str(tmp_path / "full.pdf"))
    assert code == 0 and "matches" in out, out

    cw.execute(cw.resolve(number), "add_note", SUPERVISOR, text="卷宗打印后补充的备注")
    for args in (("dossier", "check", str(written)), paper):
        code, out = run(*args)
        assert code == 1 and "does not match" in out and printed.sha256 in out, out
    code, out = run("dossier", "check", "--case", number)
    assert code == 2 and "give either FILE" in out
    other = tmp_path / "other.pdf"
    other.write_bytes(b"%PDF-1.4\n%%EOF\n")
    code, out = run("dossier", "check", str(other))
    assert code == 1 and "Traceback" not in out


def test_the_content_is_attached_to_the_pdf_as_hashed(cw: Casework) -> None:
    from io import BytesIO

    from pypdf import PdfReader

    number = _case(cw)
    dossier = dossier_pdf(cw, number, role="auditor", generated_by="a", generated_at=WHEN)
    (attached,) = PdfReader(BytesIO(dossier.content)).attachments[ATTACHMENT]
    assert hashlib.sha256(attached).hexdigest() == dossier.sha256
    assert attached == canonical_bytes(dossier_content(cw, number, role="auditor"))


def test_the_latest_checkpoint_covering_the_case_is_printed_with_its_inclusion_proof(
    cw: Casework, tmp_path: Path
) -> None:
    from engine.checkpoints import make_checkpoint

    number = _case(cw, withdrawn=False)
    before = dossier_pdf(cw, number, role="auditor", generated_by="a", generated_at=WHEN)
    assert "本案事件尚未被任何签名存储检查点覆盖" in pdf_text(before.content, tmp_path)
    made = make_checkpoint(cw).checkpoint
    cw.execute(cw.resolve(number), "add_note", SUPERVISOR, text="检查点之后的备注")  # version 4, not yet covered
    after = dossier_pdf(cw, number, role="auditor", generated_by="a", generated_at=WHEN)
    flat = "".join(pdf_text(after.content, tmp_path).split())
    assert f"包含于第{made.id}号签名检查点（签名与纳入证明均已核对通过）" in flat
    assert "本案版本1至3的事件" in flat and "版本4至4尚待下一检查点覆盖" in flat
    assert made.root_hash in flat and made.signature.replace(" ", "") in flat
    assert after.sha256 == content_sha256(dossier_content(cw, number, role="auditor"))  # the proof is not hashed
