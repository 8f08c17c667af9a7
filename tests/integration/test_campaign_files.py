"""Offer campaign files as offices save them (UTF-8 with or without BOM, GB18030/GBK from Excel or WPS), every
problem of a file named by its own line in one report, an unknown org unit refused, and `casework campaign start
--here` opening the negotiations through the engine with no Prefect at all; on a real SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from engine.accounts import add_org
from engine.campaigns import CampaignError, create_campaign, decode_csv, list_campaigns, read_csv
from engine.config import Settings
from engine.service import Casework
from engine.tables import campaign_targets, campaigns, case_index
from tests.integration.scenarios import NEGOTIATOR
from tests.integration.scenarios import credit_code as code

REPO = Path(__file__).resolve().parents[2]
HEADER = "企业名称,统一社会信用代码,职工人数"
HERE_RUNNER = """
import sys

from cli import main

try:
    main()
finally:
    print("prefect imported: " + str(sorted(m for m in sys.modules if m.split(".")[0] == "prefect")[:3]),
          file=sys.stderr)
"""


def bad_code(n: int) -> str:
    valid = code(n)
    return valid[:-1] + ("0" if valid[-1] != "0" else "1")


LISTING = f"{HEADER}\n苏州甲精密机械有限公司,{code(1)},120\n苏州乙电子有限公司,{code(2)},35\n苏州丙纺织有限公司,,8\n"
EXPECTED = [
    {"name": "苏州甲精密机械有限公司", "credit_code": code(1), "employees": 120},
    {"name": "苏州乙电子有限公司", "credit_code": code(2), "employees": 35},
    {"name": "苏州丙纺织有限公司", "credit_code": "", "employees": 8},
]


def problems(content: str) -> dict[str, str]:
    with pytest.raises(CampaignError) as error:
        read_csv(content)
    return error.value.fields


# -- the engine: encodings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        LISTING.encode("utf-8"),
        b"\xef\xbb\xbf" + LISTING.encode("utf-8"),
        LISTING.encode("gb18030"),
        LISTING.encode("gbk"),
        LISTING.replace("\n", "\r\n").encode("gb18030"),
    ],
    ids=["utf-8", "utf-8 with BOM", "gb18030", "gbk", "gb18030 CRLF"],
)
def test_utf8_with_or_without_bom_and_gb18030_are_read_alike(data: bytes) -> None:
    assert read_csv(decode_csv(data)) == EXPECTED


def test_an_encoding_can_be_forced_and_a_wrong_one_is_named() -> None:
    assert read_csv(decode_csv(LISTING.encode("gb18030"), "gb18030")) == EXPECTED
    with pytest.raises(CampaignError) as error:
        decode_csv(LISTING.encode("gb18030"), "utf-8")
    assert list(error.value.fields) == ["csv"]
    assert error.value.fields["csv"].startswith("not UTF-8 text (line 1 holds byte 0xC6)")


@pytest.mark.parametrize(
    "data",
    [
        LISTING.encode("utf-16"),
        LISTING.encode("utf-16-be"),
        b"\xfe\xff" + LISTING.encode("utf-16-be"),
        LISTING.encode("utf-32"),
        "name\nCafé Müller GmbH\n".encode("latin-1") + b"\xff\x80\n",
    ],
    ids=["utf-16 le bom", "utf-16 be without bom", "utf-16 be bom", "utf-32", "latin-1"],
)
def test_anything_else_is_refused_in_one_line_naming_what_is_read(data: bytes) -> None:
    with pytest.raises(CampaignError) as error:
        decode_csv(data)
    assert list(error.value.fields) == ["csv"]
    problem = error.value.fields["csv"]
    assert "\n" not in problem and "UTF-8" in problem and "GB18030" in problem


# -- the engine: lines -------------------------------------------------------------------------------------------


def test_an_unclosed_quote_is_refused_at_its_line_instead_of_merging_the_rows_after_it() -> None:
    merged = (
        f"{HEADER}\n"
        f"苏州甲公司,{code(1)},10\n"
        f'"苏州乙公司,{code(2)},20\n'  # line 3: the quote is never closed on its line ...
        f"苏州丙公司,{code(3)},30\n"
        f'苏州丁公司",{code(4)},40\n'  # ... and closes here: three rows would be one enterprise
        f"苏州戊公司,{code(5)},50\n"
    )
    assert problems(merged) == {
        "line 3": "unclosed quote: the quoted cell opened on this line runs on to line 5 "
        "(a cell may not hold a line break)"
    }
    to_the_end = f'{HEADER}\n苏州甲公司,{code(1)},10\n苏州乙公司,"{code(2)},20\n苏州丙公司,,30\n'
    assert list(problems(to_the_end)) == ["line 3"]
    assert "runs on to the end of the file" in problems(to_the_end)["line 3"]
    stray = f'{HEADER}\n"苏州甲"公司,{code(1)},10\n苏州乙公司,,\n'
    assert list(problems(stray)) == ["line 2"] and "stray quote" in problems(stray)["line 2"]


def test_every_problem_is_named_by_the_files_own_line_in_one_report() -> None:
    content = (
        f"\ufeff{HEADER}\n"  # 1
        f"苏州甲公司,{code(1)},10\n"  # 2
        "\n"  # 3: blank lines count
        f"苏州乙公司,{code(2)},20\n"  # 4
        f",{code(3)},30\n"  # 5: no name
        f"苏州丙公司,{code(4)},十二\n"  # 6
        f"苏州丁公司,{code(5)},3.5\n"  # 7
        f"苏州戊公司,{bad_code(6)},5\n"  # 8: a wrong check digit
        f"苏州甲公司（分厂）,{code(1).lower()},9\n"  # 9: line 2's enterprise again
        f'"苏州己公司",{code(7)},"7"\n'  # 10: quoted cells are fine
        f"苏州庚公司,,\n"  # 11
        f"苏州庚公司,,\n"
    )  # 12: line 11's again
    found = problems(content)
    assert list(found) == [
        "line 5.name",
        "line 6.employees",
        "line 7.employees",
        "line 8.credit_code",
        "line 9",
        "line 12",
    ]
    assert found["line 5.name"] == "is required"
    assert found["line 6.employees"] == "'十二' is not a whole number"
    assert found["line 9"] == "lists the same enterprise as line 2"
    assert found["line 12"] == "lists the same enterprise as line 11"
    assert "check digit" in found["line 8.credit_code"]
    with pytest.raises(CampaignError) as error:
        read_csv(content)
    assert error.value.problems()[:2] == [
        "line 5: name: is required",
        "line 6: employees: '十二' is not a whole number",
    ]


# -- the engine: the org unit ------------------------------------------------------------------------------------


def test_a_campaign_in_an_org_unit_that_does_not_exist_is_refused_and_nothing_stored(cw: Casework) -> None:
    add_org(cw, "suzhou", "苏州市总工会")
    with pytest.raises(CampaignError) as error:
        create_campaign(
            cw,
            NEGOTIATOR,
            document_number="苏工要〔2026〕3号",
            issuing_union="苏州市总工会",
            org_unit="suzhou.nowhere",
            enterprises=EXPECTED,
        )
    assert error.value.fields == {"org_unit": "no org unit 'suzhou.nowhere'; add it first"}
    assert list_campaigns(cw) == []
    assert (
        create_campaign(
            cw,
            NEGOTIATOR,
            document_number="苏工要〔2026〕3号",
            issuing_union="苏州市总工会",
            org_unit="suzhou",
            enterprises=EXPECTED,
        ).total
        == 3
    )


# -- the command line ----------------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory with an up-to-date SQLite store and the org units suzhou and suzhou.gusu."""
    monkeypatch.setenv("CASEWORK_DATA_DIR", str(tmp_path))
    for name in ("CASEWORK_DATABASE_URL", "CASEWORK_CIPHER_KEY", "PREFECT_API_URL"):
        monkeypatch.delenv(name, raising=False)
    assert casework("db", "upgrade").exit_code == 0
    assert casework("orgs", "add", "suzhou", "苏州市总工会").exit_code == 0
    assert casework("orgs", "add", "suzhou.gusu", "姑苏区总工会").exit_code == 0
    return tmp_path


def casework(*args: str) -> Result:
    from cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def start(path: Path, *extra: str, org: str = "suzhou.gusu") -> Result:
    return casework(
        "campaign",
        "start",
        "--csv",
        str(path),
        "--document-number",
        "姑工要〔2026〕40号",
        "--issuing-union",
        "姑苏区总工会",
        "--org",
        org,
        *extra,
    )


def stored() -> dict[str, int]:
    cw = Casework(Settings.from_env())
    try:
        with cw.read_transaction() as session:
            return {
                t.name: session.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (campaigns, campaign_targets, case_index)
            }
    finally:
        cw.close()


NOTHING = {"campaigns": 0, "campaign_targets": 0, "case_index": 0}


@pytest.mark.parametrize(
    ("encoding", "option"), [("utf-8", ()), ("utf-8-sig", ()), ("gb18030", ()), ("gb18030", ("--encoding", "GB18030"))]
)
def test_the_command_line_reads_a_file_as_excel_and_wps_save_it(
    store: Path, encoding: str, option: tuple[str, ...]
) -> None:
    path = store / "要约企业名单.csv"
    path.write_bytes(LISTING.replace("\n", "\r\n").encode(encoding))
    result = start(path, "--here", *option)
    assert result.exit_code == 0, result.output
    assert "3 enterprises under 姑工要〔2026〕40号" in " ".join(result.output.split())  # rich wraps at 80 columns
    assert stored() == {"campaigns": 1, "campaign_targets": 3, "case_index": 3}


@pytest.mark.parametrize("data", [LISTING.encode("utf-16"), b"name\n\xff\xfe\x80\n"], ids=["utf-16", "undecodable"])
def test_the_command_line_refuses_another_encoding_in_one_line_naming_the_file(store: Path, data: bytes) -> None:
    path = store / "名单.csv"
    path.write_bytes(data)
    result = start(path)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: ") and "GB18030" in lines[0], result.output
    assert "Traceback" not in result.output
    assert stored() == NOTHING


def test_the_command_line_names_every_bad_line_of_the_file_at_once_and_stores_nothing(store: Path) -> None:
    path = store / "名单.csv"
    path.write_text(
        f"{HEADER}\n苏州甲公司,{code(1)},10\n苏州乙公司,{code(2)},20\n苏州丙公司,,30\n"
        f",{code(4)},40\n苏州丁公司,{code(5)},四十\n苏州戊公司,{code(6)},-1\n"
        f'"苏州己公司,{code(7)},7\n',
        encoding="gb18030",
    )
    result = start(path, "--here")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: {path}: 4 problems, nothing stored:",
        "  line 5: name: is required",
        "  line 6: employees: '四十' is not a whole number",
        "  line 7: employees: '-1' is not a whole number",
        "  line 8: unclosed quote: the quoted cell opened on this line runs on to the end of the file "
        "(a cell may not hold a line break)",
    ]
    assert stored() == NOTHING


def test_the_command_line_refuses_an_org_unit_that_does_not_exist(store: Path) -> None:
    path = store / "名单.csv"
    path.write_text(LISTING, encoding="utf-8")
    result = start(path, "--here", org="suzhou.nowhere")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: org_unit: no org unit 'suzhou.nowhere'; add it first"
    assert stored() == NOTHING


def test_here_opens_the_negotiations_with_a_progress_bar_and_no_prefect(store: Path) -> None:
    """In a process of its own, as a user runs it: the negotiations are opened and Prefect is never imported."""
    path = store / "名单.csv"
    path.write_text(
        f"{HEADER}\n" + "".join(f"苏州示例企业{i:03d}有限公司,{code(i)},{10 + i}\n" for i in range(120)),
        encoding="gb18030",
    )
    runner = store / "run_casework.py"
    runner.write_text(HERE_RUNNER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "120"}
    env = {k: v for k, v in env.items() if not k.startswith("PREFECT_")}
    began = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            str(runner),
            "campaign",
            "start",
            "--csv",
            str(path),
            "--here",
            "--document-number",
            "姑工要〔2026〕41号",
            "--issuing-union",
            "姑苏区总工会",
            "--org",
            "suzhou.gusu",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    seconds = time.perf_counter() - began
    print(f"\ncasework campaign start --here, 120 enterprises on SQLite: {seconds:.2f} s")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "prefect imported: []" in done.stderr, done.stderr
    assert "opening negotiations" in done.stdout and "120/120" in done.stdout, done.stdout
    assert "this run opened 120 (found 0 already open, 0 refused)" in done.stdout
    assert "姑工要〔2026〕41号: 120 of 120 opened, 0 failed, 0 pending" in done.stdout
    assert stored() == {"campaigns": 1, "campaign_targets": 120, "case_index": 120}
    cw = Casework(Settings.from_env())
    try:
        (found,) = list_campaigns(cw)
    finally:
        cw.close()
    assert found.finished_at is not None and found.flow_run_id is None  # no flow run: the engine ran it
