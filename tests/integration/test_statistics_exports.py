"""The statistics table written into the data directory: named by its unit and period, replaced whole, never outside
exports/, and the notice its unit's supervisors are to get (the nearest unit at or above it with active ones)."""

from __future__ import annotations

from datetime import date

import pytest
from openpyxl import load_workbook

from engine.reports import period_name, statistics_export_notice, write_statistics_export
from engine.service import Casework
from tests.integration.scenarios import file_dispute
from tests.workflows.support import STREET, org_tree


@pytest.mark.parametrize(
    ("start", "end", "name"),
    [
        (date(2026, 3, 1), date(2026, 3, 31), "2026-03"),
        (date(2024, 2, 1), date(2024, 2, 29), "2024-02"),
        (date(2026, 12, 1), date(2026, 12, 31), "2026-12"),
        (date(2026, 1, 1), date(2026, 12, 31), "2026"),
        (date(2026, 3, 1), date(2026, 3, 30), "2026-03-01_2026-03-30"),
        (date(2026, 1, 1), date(2026, 6, 30), "2026-01-01_2026-06-30"),
    ],
)
def test_a_period_is_named_as_a_month_a_year_or_its_two_days(start: date, end: date, name: str) -> None:
    assert period_name(start, end) == name


def test_the_export_is_written_under_the_data_directory_and_its_notice_names_the_supervisors(cw: Casework) -> None:
    org_tree(cw)
    file_dispute(cw, org_unit=STREET)
    export = write_statistics_export(cw, STREET, date(2026, 3, 1), date(2026, 3, 31))
    assert export.relative == f"exports/{STREET}/2026-03.xlsx"
    assert export.path == (cw.settings.data_dir / export.relative).resolve() and export.path.is_file()
    assert [p.name for p in export.path.parent.iterdir()] == ["2026-03.xlsx"]  # no partial file left behind
    sheet = load_workbook(export.path).active
    assert sheet is not None and sheet["A1"].value.startswith("双塔街道总工会 2026年3月1日至2026年3月31日 ")
    notice = statistics_export_notice(cw, export)
    assert notice.recipients == ["gusu-sup-a", "gusu-sup-b"]  # the street's only supervisor is deactivated
    assert notice.subject.startswith("双塔街道总工会 2026年3月1日至2026年3月31日 ")
    assert export.relative in notice.body


@pytest.mark.parametrize("unit", ["../etc", "suzhou/../../x", "suzhou..gusu", "/tmp", "Suzhou", ""])
def test_an_export_is_never_written_outside_the_exports_folder(cw: Casework, unit: str) -> None:
    with pytest.raises(ValueError, match="not an org unit path"):
        write_statistics_export(cw, unit or ".", date(2026, 3, 1), date(2026, 3, 31))
    assert not (cw.settings.data_dir / "exports").exists()
