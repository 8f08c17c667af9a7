"""A realistic demo data set: a city federation's year of casework across all four case types.

Every case runs through simulated business time (a FixedClock), so the legal clocks, the
escalation ladder and the statistics behave as they would over a real year. Each scenario
commits command by command; nothing is held in memory between scenarios.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from stdnum.cn import ric, uscc

from engine.clock import FixedClock, SystemClock
from engine.config import Settings
from engine.service import Actor, Casework

SUZHOU_REGIONS = ("320505", "320506", "320507", "320508", "320509", "320581", "320582", "320583", "320585")
"""Region codes (characters 1-6 of an ID number) of Suzhou's districts and county-level cities."""

ORG_UNITS = [
    "suzhou.gusu.shuangta",
    "suzhou.gusu.canglang",
    "suzhou.wuzhong.mudu",
    "suzhou.wuzhong.xukou",
    "suzhou.sip.loufeng",
    "suzhou.sip.weiting",
    "suzhou.xiangcheng.yuanhe",
    "suzhou.kunshan.zhoushi",
]
ORG_NAMES = {
    "suzhou": "苏州市总工会",
    "suzhou.gusu": "姑苏区总工会",
    "suzhou.wuzhong": "吴中区总工会",
    "suzhou.sip": "苏州工业园区总工会",
    "suzhou.xiangcheng": "相城区总工会",
    "suzhou.kunshan": "昆山市总工会",
    "suzhou.gusu.shuangta": "双塔街道总工会",
    "suzhou.gusu.canglang": "沧浪街道总工会",
    "suzhou.wuzhong.mudu": "木渎镇总工会",
    "suzhou.wuzhong.xukou": "胥口镇总工会",
    "suzhou.sip.loufeng": "娄葑街道总工会",
    "suzhou.sip.weiting": "唯亭街道总工会",
    "suzhou.xiangcheng.yuanhe": "元和街道总工会",
    "suzhou.kunshan.zhoushi": "周市镇总工会",
}
DEMO_USERS = [  # (user id, name, role, org unit): one per role a user may hold, the demo's actors among them
    ("demo-admin", "系统管理员", "admin", "suzhou"),
    ("demo-mediator", "调解员 张敏", "mediator", "suzhou"),
    ("demo-negotiator", "协商指导员 李强", "negotiator", "suzhou"),
    ("demo-inspector", "劳动法律监督员 王芳", "inspector", "suzhou"),
    ("demo-caseworker", "帮扶干部 刘洋", "caseworker", "suzhou"),
    ("demo-supervisor", "审核员 陈静", "supervisor", "suzhou"),
    ("demo-supervisor-2", "审核员 杨磊", "supervisor", "suzhou"),
    ("demo-auditor", "督查员 赵娟", "auditor", "suzhou"),
    ("demo-gusu-mediator", "姑苏区调解员 周涛", "mediator", "suzhou.gusu"),
]
DEMO_LOADER = Actor("demo", "admin")
"""Who the record of account changes names for the demo's users."""
DEMO_TOKENS_FILE = "demo-tokens.txt"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["建国", "秀英", "伟", "芳", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "霞"]
FIRMS = ["精密机械", "电子科技", "纺织服装", "物流", "食品", "新材料", "汽车零部件", "建筑工程", "酒店管理", "医药"]

MEDIATOR = Actor("demo-mediator", "mediator")
NEGOTIATOR = Actor("demo-negotiator", "negotiator")
INSPECTOR = Actor("demo-inspector", "inspector")
CASEWORKER = Actor("demo-caseworker", "caseworker")
SUPERVISOR = Actor("demo-supervisor", "supervisor")
SUPERVISOR_2 = Actor("demo-supervisor-2", "supervisor")
SYSTEM = Actor("system", "system")


@dataclass(frozen=True)
class DemoSummary:
    cases: int
    commands: int


class Scenario:
    """One storyline: a clock to move and the engine to command."""

    def __init__(self, cw: Casework, clock: FixedClock, rng: random.Random, org_unit: str) -> None:
        self.cw, self.clock, self.rng, self.org_unit = cw, clock, rng, org_unit
        self.commands = 0

    def wait(self, days: int) -> None:
        self.clock.advance(days=days)

    @property
    def today(self) -> date:
        return self.clock.now().astimezone(self.cw.settings.tz).date()

    def open(self, kind: str, actor: Actor, **data: Any) -> UUID:
        self.commands += 1
        return self.cw.open_case(kind, actor, org_unit=self.org_unit, **data).case_id

    def do(self, case_id: UUID, action: str, actor: Actor, **data: Any) -> Any:
        self.commands += 1
        return self.cw.execute(case_id, action, actor, **data)

    def name(self) -> str:
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)

    @property
    def district(self) -> str:
        """The district's short name, e.g. 吴中区 or 昆山市."""
        return ORG_NAMES[".".join(self.org_unit.split(".")[:2])].removesuffix("总工会").removeprefix("苏州")

    @property
    def union(self) -> str:
        """The union of the scenario's unit as people name it on a document, e.g. 吴中区胥口镇工会."""
        return f"{self.district}{ORG_NAMES[self.org_unit].removesuffix('总工会')}工会"

    @property
    def higher_union(self) -> str:
        """The union one level up (the district's), which issues an acting offer (上级工会代行要约)."""
        return ORG_NAMES[self.org_unit.rpartition(".")[0]]

    def firm(self) -> dict[str, Any]:
        return {
            "name": f"苏州{self.district}{self.rng.choice(FIRMS)}有限公司{self.rng.randint(1, 9999):04d}",
            "credit_code": self.credit_code(),
            "employees": self.rng.randint(20, 2000),
        }

    def credit_code(self) -> str:
        """A valid unified social credit code (GB 32100) of a Suzhou company."""
        body = f"91320500{self.rng.randint(10**8, 10**9 - 1)}"
        return body + uscc.calc_check_digit(body + "0")

    def id_number(self) -> str:
        """A valid resident ID number (GB 11643) registered in one of Suzhou's districts."""
        born = date(1960, 1, 1) + timedelta(days=self.rng.randint(0, 40 * 365))
        body = f"{self.rng.choice(SUZHOU_REGIONS)}{born:%Y%m%d}{self.rng.randint(0, 999):03d}"
        return body + ric.calc_check_digit(body + "0")


# -- labor disputes ------------------------------------------------------------------

DISPUTE_ENDINGS = [
    "filed",
    "accepted",
    "declined",
    "in_mediation",
    "agreement_reached",
    "resolved",
    "resolved",
    "referred",
    "deemed_failed",
    "withdrawn",
]


def dispute(s: Scenario, ending: str) -> None:
    workers = s.rng.choice([1, 1, 2, 3, 12, 35])
    case = s.open(
        "labor_dispute",
        MEDIATOR,
        employer=s.firm(),
        applicants=[{"name": s.name(), "id_number": s.id_number()} for _ in range(min(workers, 3))],
        workers_involved=workers,
        claims=[
            {
                "category": s.rng.choice(["wages", "overtime", "social_insurance", "termination"]),
                "amount": str(s.rng.randint(2, 90) * 500),
                "description": "demo claim",
            }
        ],
        summary="demo dispute",
    )
    if ending == "filed":
        return
    s.wait(1)
    if ending == "declined":
        s.do(case, "decline", MEDIATOR, reason="不属于劳动争议受理范围")
        return
    if ending == "withdrawn":
        s.do(case, "withdraw", MEDIATOR, reason="申请人撤回申请")
        return
    s.do(case, "accept", MEDIATOR)
    if ending == "accepted":
        return
    if ending == "deemed_failed":
        s.wait(16)
        s.do(case, "deem_failed", SYSTEM)
        return
    s.wait(2)
    s.do(case, "start_mediation", MEDIATOR, mediator=MEDIATOR.id)
    s.wait(3)
    s.do(case, "record_session", MEDIATOR, held_on=s.today, summary="双方陈述意见", attendees=["申请人", "企业代表"])
    if ending == "in_mediation":
        return
    if ending == "referred":
        s.wait(4)
        s.do(case, "fail_mediation", MEDIATOR, reason="企业不同意支付")
        s.do(case, "refer_to_arbitration", MEDIATOR)
        return
    s.wait(4)
    s.do(
        case,
        "reach_agreement",
        MEDIATOR,
        terms="企业分两期支付拖欠工资",
        amounts={"wages": str(s.rng.randint(2, 40) * 500)},
        performance_due=s.today + timedelta(days=30),
    )
    if ending == "resolved":
        s.wait(20)
        s.do(case, "confirm_performance", MEDIATOR)


# -- wage negotiations and rectification ---------------------------------------------

NEGOTIATION_ENDINGS = [
    "offer_issued",
    "effective",
    "effective",
    "acting_then_accepted",
    "rectified_and_resumed",
    "referred",
    "impasse_resumed",
    "withdrawn",
]


def written_offer(s: Scenario, serial: int, endings: list[str]) -> None:
    """One written offer (书面要约) covering one or more enterprises, each with its own case."""
    document = f"{s.district[:2]}工要〔{s.today.year}〕{serial}号"
    issued = s.clock.now()
    for i, ending in enumerate(endings):
        s.clock.set(issued)  # one document reaches every enterprise it covers on the same day
        case = s.open(
            "wage_negotiation",
            NEGOTIATOR,
            enterprise=s.firm(),
            issuing_union=s.union,
            document_number=document,
            covers=len(endings),
            first_of_document=(i == 0),
            terms={"wage_increase_pct": "6.5", "minimum_wage": "2490", "other": "年度工资调整"},
        )
        negotiation(s, case, ending)


def negotiation(s: Scenario, case: UUID, ending: str) -> None:
    if ending == "offer_issued":
        return
    if ending == "withdrawn":
        s.wait(5)
        s.do(case, "withdraw", SUPERVISOR, reason="企业已注销")
        return
    if ending in ("acting_then_accepted", "rectified_and_resumed", "referred"):
        s.wait(21)
        s.do(case, "escalate_to_acting_offer", SYSTEM, acting_union=s.higher_union, reason="20日内未书面答复")
        if ending == "acting_then_accepted":
            s.wait(10)
            s.do(case, "accept_offer", NEGOTIATOR)
        else:
            s.wait(21)
            result = s.do(
                case,
                "issue_rectification",
                SYSTEM,
                reason="代行要约后仍未答复",
                items=[
                    {
                        "category": "collective_contract",
                        "description": "拒不应约",
                        "legal_basis": "《集体合同规定》第三十二条",
                        "deadline": s.today + timedelta(days=30),
                    }
                ],
            )
            proposal = UUID(result.linked[0]["case_id"])
            s.wait(5)
            if ending == "referred":
                s.do(proposal, "refuse", INSPECTOR, reason="企业拒绝整改")
                s.do(proposal, "refer_to_inspectorate", INSPECTOR, reason="拒绝整改")  # the negotiation follows
                return
            s.do(proposal, "accept_plan", INSPECTOR, plan="企业同意启动工资集体协商")
            s.wait(10)
            s.do(proposal, "verify_item", INSPECTOR, item_no=1, result="passed", findings="已书面应约")
            # accepting the plan resumed the negotiation (engine/reactions.py)
    else:
        s.wait(s.rng.randint(3, 15))
        s.do(case, "accept_offer", NEGOTIATOR)
    s.wait(7)
    s.do(
        case,
        "submit_proposal",
        NEGOTIATOR,
        side="union",
        wage_increase_pct="7.0",
        minimum_wage="2500",
        other_terms="高温津贴",
    )
    s.wait(10)
    s.do(case, "submit_proposal", NEGOTIATOR, side="enterprise", wage_increase_pct="4.5", minimum_wage="2490")
    if ending == "impasse_resumed":
        s.wait(5)
        s.do(case, "declare_impasse", NEGOTIATOR, reason="双方分歧较大")
        s.do(case, "request_coordination", NEGOTIATOR, authority="区人社局劳动关系科")
        s.wait(10)
        s.do(case, "resume_negotiation", SUPERVISOR)
        s.do(case, "submit_proposal", NEGOTIATOR, side="union", wage_increase_pct="5.5")
    if ending not in ("effective",):
        return
    s.wait(6)
    s.do(case, "accept_proposal", NEGOTIATOR, side="union")
    s.wait(7)
    s.do(case, "approve_by_congress", NEGOTIATOR, votes_for=48, votes_against=3, representatives=60)
    s.wait(2)
    s.do(case, "sign", NEGOTIATOR, signed_on=s.today, term_start=s.today, term_end=s.today + timedelta(days=364))
    s.wait(5)
    s.do(case, "file_with_bureau", NEGOTIATOR, bureau="苏州市人力资源和社会保障局")
    s.wait(16)
    s.do(case, "take_effect", NEGOTIATOR)


def inspection(s: Scenario, passed: bool) -> None:
    case = s.open(
        "rectification_proposal",
        INSPECTOR,
        enterprise=s.firm(),
        issuing_union=s.union,
        source={"kind": "inspection", "case_id": None, "number": None},
        items=[
            {
                "category": "working_hours",
                "description": "超时加班",
                "legal_basis": "《劳动法》第四十一条",
                "deadline": s.today + timedelta(days=30),
            },
            {
                "category": "social_insurance",
                "description": "未足额缴纳社保",
                "legal_basis": "《社会保险法》第五十八条",
                "deadline": s.today + timedelta(days=45),
            },
        ],
    )
    s.wait(7)
    s.do(case, "accept_plan", INSPECTOR, plan="三十日内完成整改")
    s.wait(25)
    s.do(case, "verify_item", INSPECTOR, item_no=1, result="passed", findings="已调整排班")
    s.wait(15)
    s.do(case, "verify_item", INSPECTOR, item_no=2, result="passed" if passed else "failed", findings="复查")


# -- hardship --------------------------------------------------------------------------

HARDSHIP_ENDINGS = ["applied", "verified", "registered", "registered", "registered", "rejected", "withdrawn", "exited"]


def hardship(s: Scenario, ending: str) -> None:
    category = s.rng.choice(["deep", "relative", "relative", "sudden", "特困"])
    case = s.open(
        "hardship",
        CASEWORKER,
        worker={
            "name": s.name(),
            "id_number": s.id_number(),
            "phone": f"139{s.rng.randint(10**7, 10**8 - 1)}",
            "address": "苏州市某社区",
        },
        household={
            "members": s.rng.randint(1, 5),
            "monthly_income_per_capita": str(s.rng.randint(500, 1100)),
            "local_minimum": "1120",
        },
        causes=[s.rng.choice(["illness", "disability", "unemployment", "education"])],
        category=category,
    )
    if ending == "applied":
        return
    if ending == "withdrawn":
        s.do(case, "withdraw", CASEWORKER, reason="本人放弃申请")
        return
    s.wait(s.rng.randint(3, 12))
    s.do(case, "verify", CASEWORKER, visited_on=s.today, findings="入户核实，情况属实")
    if ending == "verified":
        return
    s.wait(3)
    if ending == "rejected":
        s.do(case, "reject", SUPERVISOR, reason="家庭人均收入高于标准")
        return
    s.do(case, "approve", SUPERVISOR)
    for aid_type, amount in (("living", 3000), ("holiday", 800), ("medical", 5000)):
        s.wait(20)
        s.do(
            case,
            "disburse",
            CASEWORKER,
            aid_type=aid_type,
            amount=str(amount),
            fund="市总工会帮扶专项资金",
            period=str(s.today.year),
        )
    if ending == "exited":
        s.wait(30)
        s.do(case, "exit", SUPERVISOR_2, reason="家庭成员重新就业，收入超过标准")


def load_demo_accounts(cw: Casework) -> dict[str, str]:
    """The demo's org tree and one user per role, each with a random password for the web workspace; returns
    {user id: token} and keeps the tokens and passwords in the data directory (demo-tokens.txt, readable by its
    owner only) so they can be shown again."""
    from engine.accounts import add_org, add_user, get_org, list_users
    from engine.passwords import generate_password, set_password

    for path, name in sorted(ORG_NAMES.items(), key=lambda item: item[0].count(".")):
        if get_org(cw, path) is None:
            add_org(cw, path, name)
    existing = {u.user_id for u in list_users(cw)}
    tokens = {}
    passwords = {}
    for user_id, name, role, org_unit in DEMO_USERS:
        if user_id not in existing:
            _, tokens[user_id] = add_user(cw, user_id, name, role, org_unit, by=DEMO_LOADER)
            passwords[user_id] = generate_password()
            set_password(cw, user_id, passwords[user_id], by=DEMO_LOADER)
    if tokens:
        tokens_file = cw.settings.data_dir / DEMO_TOKENS_FILE
        tokens_file.parent.mkdir(parents=True, exist_ok=True)
        with tokens_file.open("a", encoding="utf-8") as f:
            tokens_file.chmod(0o600)
            for user_id, token in tokens.items():
                role = next(r for u, _, r, _ in DEMO_USERS if u == user_id)
                f.write(f"{user_id}\t{role}\t{token}\t{passwords[user_id]}\n")
    return tokens


def demo_tokens(settings: Settings) -> list[tuple[str, str, str]]:
    """(user id, role, token) of the demo users, as kept by load_demo_accounts (but the `system` user of earlier
    demos: its token no longer signs in)."""
    path = settings.data_dir / DEMO_TOKENS_FILE
    if not path.exists():
        return []
    kept = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [(user_id, role, token) for user_id, role, token, *_ in kept if role != "system"]


def demo_passwords(settings: Settings) -> list[tuple[str, str, str]]:
    """(user id, role, password) of the demo users, as kept by load_demo_accounts (none for users of a demo
    loaded before the workspace had passwords: give them one with `casework users password`)."""
    path = settings.data_dir / DEMO_TOKENS_FILE
    if not path.exists():
        return []
    kept = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [(row[0], row[1], row[3]) for row in kept if len(row) >= 4 and row[1] != "system"]


DEMO_DAYS = 365
"""The demo covers the year up to today."""
LONGEST_STORY_DAYS = 130
"""No storyline runs longer than this (a negotiation through the whole ladder, or to a filed contract), so
one that starts this long before today has ended by today: nothing is recorded in the future."""


def load_demo(
    settings: Settings,
    *,
    size: int = 1,
    until: date | None = None,
    seed: int = 7,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Load `size` units of demo data (about 60 cases each) into the configured database, spread over the
    year up to `until` (default: today in the business time zone)."""
    rng = random.Random(seed)
    until = until or SystemClock().now().astimezone(settings.tz).date()
    first_day = until - timedelta(days=DEMO_DAYS)
    clock = FixedClock(datetime.combine(first_day, time(9, 0), tzinfo=settings.tz))
    cw = Casework(settings, clock)
    load_demo_accounts(cw)
    plans: list[Callable[[Scenario], None]] = []
    for unit in range(size):
        for ending in DISPUTE_ENDINGS * 2:
            plans.append(partial(dispute, ending=ending))
        plans.append(partial(written_offer, serial=100 * unit + 1, endings=list(NEGOTIATION_ENDINGS)))
        for i, ending in enumerate(NEGOTIATION_ENDINGS):
            plans.append(partial(written_offer, serial=100 * unit + 10 + i, endings=[ending]))
        plans.append(partial(inspection, passed=True))
        plans.append(partial(inspection, passed=False))
        for ending in HARDSHIP_ENDINGS:
            plans.append(partial(hardship, ending=ending))
    commands = 0
    cases_before = _stored_cases(cw)
    try:
        for done, plan in enumerate(plans, start=1):
            start_day = rng.randint(0, DEMO_DAYS - LONGEST_STORY_DAYS)
            clock.set(datetime.combine(first_day + timedelta(days=start_day), time(9, 0), tzinfo=settings.tz))
            scenario = Scenario(cw, clock, rng, rng.choice(ORG_UNITS))
            plan(scenario)
            commands += scenario.commands
            if progress:
                progress(done, len(plans))
        cases = _stored_cases(cw) - cases_before
    finally:
        cw.close()
    return DemoSummary(cases=cases, commands=commands)


def _stored_cases(cw: Casework) -> int:
    """Cases in the store, counted there: a command may open a linked case, and one may only touch one."""
    from sqlalchemy import func, select

    from engine.tables import case_index

    with cw.read_transaction() as session:
        return session.execute(select(func.count()).select_from(case_index)).scalar_one()
