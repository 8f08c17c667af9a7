"""The federation's statistics, summed from the read model for an org unit and its descendants.

Org units are dotted paths (`suzhou.gusu.shuangta`): a unit's figures include every unit below it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from engine.database import in_unit
from engine.service import Casework
from engine.spreadsheet import csv_bytes
from engine.tables import case_statistics

# (metric, 中文, English) in the order the union's annual reports give them.
SECTIONS: dict[str, list[tuple[str, str, str]]] = {
    "wage_negotiation": [
        ("offers_written", "发出书面要约(份)", "written offers issued"),
        ("enterprises_covered", "覆盖企业(家)", "enterprises covered"),
        ("offers_answered", "应约企业(家)", "enterprises that answered"),
        ("offers_refused", "拒绝应约(家)", "enterprises that refused"),
        ("acting_offers", "上级工会代行要约(家)", "acting offers by the higher union"),
        ("rectification_proposals", "发出整改建议书(份)", "rectification proposals issued"),
        ("agreed_to_rectify", "同意整改企业(家)", "enterprises that agreed to rectify"),
        ("negotiations_referred", "提交人社部门执法检查(家)", "referred to the labor inspectorate"),
        ("contracts_signed", "签订工资集体合同(份)", "wage contracts signed"),
        ("contracts_effective", "合同生效(份)", "contracts in effect"),
    ],
    "labor_dispute": [
        ("disputes_filed", "申请调解(件)", "mediation applications"),
        ("disputes_accepted", "受理劳动争议(件)", "disputes accepted"),
        ("collective_disputes_accepted", "其中集体劳动争议(件)", "of which collective disputes"),
        ("dispute_workers_involved", "涉及劳动者(人)", "workers involved"),
        ("disputes_mediated", "调解成功(件)", "mediated successfully"),
        ("disputes_failed", "调解不成(件)", "mediation failed"),
        ("disputes_referred", "告知申请仲裁(件)", "referred to arbitration"),
        ("disputes_resolved", "协议履行完毕(件)", "agreements performed"),
    ],
    "rectification_proposal": [
        ("rectifications_issued", "整改建议书(份)", "rectification proposals"),
        ("rectifications_accepted", "同意整改(家)", "accepted with a plan"),
        ("rectifications_completed", "整改完成(家)", "rectified"),
        ("rectifications_referred", "提交执法检查(家)", "referred to the inspectorate"),
    ],
    "hardship": [
        ("hardship_applications", "申请帮扶(人)", "applications"),
        ("hardship_registered", "建档困难职工(人)", "registered hardship workers"),
        ("hardship_registered_deep", "其中深度困难(人)", "of which deep hardship"),
        ("hardship_registered_relative", "其中相对困难(人)", "of which relative hardship"),
        ("hardship_registered_sudden", "其中意外致困(人)", "of which sudden hardship"),
        ("hardship_exited", "脱困(人)", "exited hardship"),
        ("disbursements", "帮扶(人次)", "disbursements"),
        ("disbursed_amount_living", "生活救助(元)", "living aid, CNY"),
        ("disbursed_amount_medical", "医疗救助(元)", "medical aid, CNY"),
        ("disbursed_amount_education", "助学(元)", "education aid, CNY"),
        ("disbursed_amount_holiday", "送温暖(元)", "holiday relief, CNY"),
        ("disbursed_amount_employment", "就业援助(元)", "employment aid, CNY"),
    ],
}

RATES = [
    ("answer_rate", "应约率", "answer rate", "offers_answered", "enterprises_covered"),
    ("mediation_success_rate", "调解成功率", "mediation success rate", "disputes_mediated", "disputes_accepted"),
]


@dataclass(frozen=True)
class Report:
    org_unit: str | None
    start: date | None
    end: date | None
    figures: dict[str, Decimal]
    by_org: dict[str, dict[str, Decimal]]

    def figure(self, metric: str) -> Decimal:
        return self.figures.get(metric, Decimal(0))

    def rate(self, numerator: str, denominator: str) -> Decimal | None:
        d = self.figure(denominator)
        return None if not d else (self.figure(numerator) / d * 100).quantize(Decimal("0.1"))


def statistics(
    cw: Casework,
    *,
    org_unit: str | None = None,
    start: date | None = None,
    end: date | None = None,
    by_org_depth: int | None = None,
) -> Report:
    """Sum every counter over [start, end] for `org_unit` and below (all units when None).

    With `by_org_depth`, also break the figures down by the org-unit path cut at that depth.
    """
    s = case_statistics.c
    query = select(s.org_unit, s.metric, func.sum(s.value)).group_by(s.org_unit, s.metric)
    if org_unit:
        query = query.where(in_unit(s.org_unit, org_unit))
    if start:
        query = query.where(s.day >= start)
    if end:
        query = query.where(s.day <= end)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    by_org: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    with cw.read_transaction() as session:
        for unit, metric, value in session.execute(query):
            value = Decimal(value)
            totals[metric] += value
            if by_org_depth:
                by_org[".".join(unit.split(".")[:by_org_depth])][metric] += value
    return Report(org_unit, start, end, dict(totals), {k: dict(v) for k, v in by_org.items()})


def plain(value: Decimal) -> str:
    """A count as a whole number, an amount with its cents: 9.00 -> "9", 3500.50 -> "3500.50"."""
    return str(value.quantize(Decimal(1))) if value == value.to_integral_value() else str(value)


def rows(rep: Report, columns: list[str]) -> list[tuple[str, str, str, str, Decimal, list[Decimal]]]:
    """(section, metric, 中文, English, total, per-column values) in the order the unions report them."""
    return [
        (section, metric, zh, en, rep.figure(metric), [rep.by_org[c].get(metric, Decimal(0)) for c in columns])
        for section, metrics in SECTIONS.items()
        for metric, zh, en in metrics
    ]


def as_json(rep: Report) -> dict[str, object]:
    """The report as JSON-ready data: counts as whole numbers, amounts with cents, rates in percent."""
    columns = sorted(rep.by_org)
    return {
        "org_unit": rep.org_unit,
        "from": str(rep.start or ""),
        "to": str(rep.end or ""),
        "figures": {m: plain(v) for _, m, _, _, v, _ in rows(rep, [])},
        "rates": {name: (str(r) if (r := rep.rate(n, d)) is not None else None) for name, _, _, n, d in RATES},
        "by_org": {c: {m: plain(v) for m, v in rep.by_org[c].items()} for c in columns},
    }


def report_csv(rep: Report) -> bytes:
    """One row per figure: section, metric, both labels, the total and one column per org unit."""
    columns = sorted(rep.by_org)
    return csv_bytes(
        [
            ["section", "metric", "label_zh", "label_en", "total", *columns],
            *(
                [section, metric, zh, en, plain(total), *map(plain, per)]
                for section, metric, zh, en, total, per in rows(rep, columns)
            ),
        ]
    )
