"""Administration in the workspace: org units and users by an admin within their unit, and offer campaigns from a
CSV file (a report of every bad line before anything is stored, a preview, a start with the app's scheduler, the
campaign's progress and the cases it opened), on a real SQLite file and a real PostgreSQL schema."""

from __future__ import annotations

import html
import io
import re
import uuid
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.test import TestResponse

import web
from api.app import create_app
from engine.accounts import authenticate, get_org, get_user, list_account_changes
from engine.campaigns import finish, get_campaign, open_targets, run_campaign
from engine.passwords import MAX_FAILURES
from engine.scheduler import RunState
from engine.service import Casework
from engine.tables import campaigns, case_index
from tests.integration.scenarios import credit_code
from tests.web.conftest import PASSWORD, Browser, WebWorld, csrf_token

DOCUMENT = "姑工要〔2026〕40号"
OFFER = {
    "document_number": DOCUMENT,
    "issuing_union": "姑苏区总工会",
    "org_unit": "suzhou.gusu",
    "wage_increase_pct": "5",
    "minimum_wage": "2490.00",
}
SECRET = re.compile(r'<code class="secret">([^<]+)</code>')
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


@pytest.fixture(autouse=True)
def _no_prefect_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the shell has, the app's Prefect scheduler has no server to start runs on."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_UI_URL", raising=False)


def text_of(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def in_english(browser: Browser) -> Browser:
    browser.post_form("/", "/language", {"lang": "en"})
    return browser


def admin(web: WebWorld, user_id: str = "gusu-admin") -> Browser:
    return in_english(web.signed_in(user_id))


def rows(cw: Casework) -> dict[str, int]:
    """Rows of the campaigns table and of the index of every case opened."""
    with cw.read_transaction() as session:
        return {
            t.name: session.execute(select(func.count()).select_from(t)).scalar_one() for t in (campaigns, case_index)
        }


def enterprises_csv(n: int, encoding: str = "utf-8") -> bytes:
    lines = ["企业名称,统一社会信用代码,职工人数"]
    lines += [f"苏州示例{i:02d}有限公司,{credit_code(i, '91320500MA1Y')},{40 + i}" for i in range(1, n + 1)]
    return ("\n".join(lines) + "\n").encode(encoding)


def upload(browser: Browser, data: bytes, **fields: str) -> TestResponse:
    """Send the campaign form with `data` as its CSV file."""
    token = csrf_token(browser.get("/admin/campaigns/new"))
    form: dict[str, Any] = {"csrf_token": token, **OFFER, **fields, "csv_file": (io.BytesIO(data), "list.csv")}
    return browser.client.post("/admin/campaigns/new", data=form, content_type="multipart/form-data")


def start_from(browser: Browser, preview: TestResponse, **changed: str) -> TestResponse:
    """Press the preview's start button (with `changed` fields, as a forged form would send them)."""
    fields = {name: html.unescape(value) for name, value in HIDDEN.findall(text_of(preview))}
    assert "csv_text" in fields and "csrf_token" in fields
    return browser.client.post("/admin/campaigns", data={**fields, **changed})


# -- org units --------------------------------------------------------------------------------------------------


def test_an_admin_adds_a_unit_below_their_own_and_each_problem_is_named_beside_its_field(web: WebWorld) -> None:
    browser = admin(web)
    added = browser.post_form(
        "/admin/units", "/admin/units", {"path": "suzhou.gusu.jinchang", "name": "金阊街道总工会", "level": ""}
    )
    assert added.status_code == 303 and added.headers["Location"] == "/admin/units"
    tree = text_of(browser.get("/admin/units"))
    assert "Unit suzhou.gusu.jinchang added." in tree
    assert "<code>suzhou.gusu.jinchang</code>" in tree and "金阊街道总工会" in tree
    assert "<code>suzhou.gusu.shuangta</code>" in tree and "suzhou.wuzhong" not in tree  # only the admin's unit down
    unit = get_org(web.cw, "suzhou.gusu.jinchang")
    assert unit is not None and unit.level == "street"

    for path, name, problem, status in (
        ("suzhou.gusu.Bad Path", "某单位", "must be dot-separated lower-case segments", 422),
        ("suzhou.gusu.shuangta", "双塔", "&#39;suzhou.gusu.shuangta&#39; already exists", 422),
        ("suzhou.gusu.x.y", "某单位", "the parent unit &#39;suzhou.gusu.x&#39; does not exist", 422),
        ("suzhou.wuzhong.mudu", "木渎镇总工会", "must be below your own unit, e.g. suzhou.gusu.new-unit", 403),
        ("suzhou", "苏州", "must be below your own unit", 403),
    ):
        refused = browser.post_form("/admin/units", "/admin/units", {"path": path, "name": name, "level": ""})
        assert refused.status_code == status, path
        page = text_of(refused)
        assert re.search(r'<p class="problem" id="path-problem" role="alert">[^<]*' + re.escape(problem), page), page
        assert f'value="{path}"' in page  # what was typed stays in the field
    assert get_org(web.cw, "suzhou.wuzhong.mudu") is None and get_org(web.cw, "suzhou.gusu.x.y") is None

    refused = browser.post_form("/admin/units", "/admin/units", {"path": "suzhou.gusu.a", "name": "", "level": "town"})
    assert refused.status_code == 422
    assert 'id="name-problem"' in text_of(refused) and 'id="level-problem"' in text_of(refused)


# -- users ------------------------------------------------------------------------------------------------------


def test_an_admin_adds_a_user_whose_token_is_shown_on_that_answer_only(web: WebWorld) -> None:
    browser = admin(web)
    new = {"user_id": "gusu-new", "name": "新调解员", "role": "mediator", "org_unit": "suzhou.gusu.shuangta"}
    created = browser.post_form("/admin/users", "/admin/users", new)
    assert created.status_code == 201
    page = text_of(created)
    assert "it will not be shown again" in page
    [token] = SECRET.findall(page)
    holder = authenticate(web.cw, token)
    assert holder is not None and (holder.user_id, holder.role, holder.org_unit) == (
        "gusu-new",
        "mediator",
        "suzhou.gusu.shuangta",
    )
    for later in ("/admin/users", "/admin/users/gusu-new"):
        shown = text_of(browser.get(later))
        assert "gusu-new" in shown and token not in shown
    record = text_of(browser.get("/admin/users/gusu-new"))
    assert "created" in record and "gusu-admin" in record and "role: — → mediator" in record

    again = browser.post_form("/admin/users", "/admin/users", new)
    assert again.status_code == 422 and "&#39;gusu-new&#39; already exists" in text_of(again)
    system = browser.post_form("/admin/users", "/admin/users", {**new, "user_id": "robot", "role": "system"})
    assert system.status_code == 422 and 'id="role-problem"' in text_of(system)
    assert get_user(web.cw, "robot") is None


def test_the_user_list_shows_role_unit_state_and_lockout_and_goes_on_over_pages(web: WebWorld) -> None:
    stranger = web.browser()
    for _ in range(MAX_FAILURES):
        stranger.sign_in("gusu-inspector", "not the password")
    browser = admin(web)
    for i in range(30):
        extra = {"user_id": f"gusu-extra-{i:02d}", "name": f"用户{i}", "role": "caseworker", "org_unit": "suzhou.gusu"}
        assert browser.post_form("/admin/users", "/admin/users", extra).status_code == 201
    first = text_of(browser.get("/admin/users"))
    assert "Page 1 of 2" in first and 'href="/admin/users?page=2"' in first
    second = text_of(browser.get("/admin/users?page=2"))
    assert "Page 2 of 2" in second and 'href="/admin/users?page=1"' in second
    row = re.search(r'<a href="/admin/users/gusu-inspector">.*?</tr>', first + second, re.S)
    assert row is not None and "<td>inspector</td>" in row.group(0) and "until 2026-03-02 09:15" in row.group(0)
    row = re.search(r'<a href="/admin/users/gusu-mediator">.*?</tr>', first + second, re.S)
    assert row is not None and "<td>yes</td>" in row.group(0) and "<td>—</td>" in row.group(0)
    listed = set(re.findall(r'<a href="/admin/users/([^"]+)">', first)) | set(
        re.findall(r'<a href="/admin/users/([^"]+)">', second)
    )
    assert {"gusu-extra-29", "gusu-admin", "gusu-mediator"} <= listed and "wuzhong-mediator" not in listed


def test_an_admin_changes_a_role_and_unit_and_the_record_names_who_and_what(web: WebWorld) -> None:
    browser = admin(web)
    changed = browser.post_form(
        "/admin/users/gusu-mediator",
        "/admin/users/gusu-mediator",
        {"role": "caseworker", "org_unit": "suzhou.gusu.shuangta"},
    )
    assert changed.status_code == 303
    user = get_user(web.cw, "gusu-mediator")
    assert user is not None and (user.role, user.org_unit) == ("caseworker", "suzhou.gusu.shuangta")
    record = list_account_changes(web.cw, user_id="gusu-mediator")
    assert [(c.change, c.actor_id, c.actor_role) for c in record[:2]] == [
        ("unit_changed", "gusu-admin", "admin"),
        ("role_changed", "gusu-admin", "admin"),
    ]
    page = text_of(browser.get("/admin/users/gusu-mediator"))
    assert "Saved." in page and "role: mediator → caseworker" in page
    assert "org_unit: suzhou.gusu → suzhou.gusu.shuangta" in page

    bad = browser.post_form(
        "/admin/users/gusu-mediator", "/admin/users/gusu-mediator", {"role": "system", "org_unit": "suzhou.gusu"}
    )
    assert bad.status_code == 422 and 'id="role-problem"' in text_of(bad)
    outside = browser.post_form(
        "/admin/users/gusu-mediator", "/admin/users/gusu-mediator", {"role": "caseworker", "org_unit": "suzhou"}
    )
    assert outside.status_code == 403 and 'id="org_unit-problem"' in text_of(outside)
    yourself = browser.client.post(
        "/admin/users/gusu-admin",
        data={"csrf_token": csrf_token(browser.get("/admin/users")), "role": "supervisor", "org_unit": "suzhou.gusu"},
    )
    assert yourself.status_code == 409 and "ask another admin" in text_of(yourself)
    user = get_user(web.cw, "gusu-mediator")
    admin_user = get_user(web.cw, "gusu-admin")
    assert user is not None and user.org_unit == "suzhou.gusu.shuangta" and user.role == "caseworker"
    assert admin_user is not None and admin_user.role == "admin"


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in_until_reactivated(web: WebWorld) -> None:
    mediator = web.signed_in("gusu-mediator")
    browser = admin(web)
    off = browser.post_form("/admin/users/gusu-mediator", "/admin/users/gusu-mediator/active", {"active": "0"})
    assert off.status_code == 303
    assert mediator.get("/").status_code == 302  # the open session ends
    assert web.browser().sign_in("gusu-mediator").status_code == 401
    assert "no (deactivated)" in text_of(browser.get("/admin/users/gusu-mediator"))
    assert (
        browser.post_form("/admin/users/gusu-admin", "/admin/users/gusu-admin/active", {"active": "0"}).status_code
        == 409
    )

    on = browser.post_form("/admin/users/gusu-mediator", "/admin/users/gusu-mediator/active", {"active": "1"})
    assert on.status_code == 303
    assert web.browser().sign_in("gusu-mediator").status_code == 302
    assert [c.change for c in list_account_changes(web.cw, user_id="gusu-mediator")[:2]] == [
        "reactivated",
        "deactivated",
    ]


def test_a_new_password_signs_in_ends_the_old_sessions_and_lifts_a_lockout(web: WebWorld) -> None:
    old_session = web.signed_in("gusu-mediator")
    for _ in range(MAX_FAILURES):
        web.browser().sign_in("gusu-mediator", "not the password")
    browser = admin(web)
    made = browser.post_form("/admin/users/gusu-mediator", "/admin/users/gusu-mediator/password", {"how": "generated"})
    assert made.status_code == 200 and "it will not be shown again" in text_of(made)
    [password] = SECRET.findall(text_of(made))
    assert password not in text_of(browser.get("/admin/users/gusu-mediator"))
    assert old_session.get("/").status_code == 302
    assert web.browser().sign_in("gusu-mediator", PASSWORD).status_code == 401
    assert web.browser().sign_in("gusu-mediator", password).status_code == 302  # no lockout left

    typed = {"how": "typed", "password": "another long password", "password_again": "another long passwort"}
    differ = browser.post_form("/admin/users/gusu-mediator", "/admin/users/gusu-mediator/password", typed)
    assert differ.status_code == 422 and 'id="password_again-problem"' in text_of(differ)
    short = {**typed, "password": "short", "password_again": "short"}
    too_short = browser.post_form("/admin/users/gusu-mediator", "/admin/users/gusu-mediator/password", short)
    assert too_short.status_code == 422 and "must be at least 10 characters" in text_of(too_short)
    assert web.browser().sign_in("gusu-mediator", password).status_code == 302  # neither changed it
    same = {**typed, "password_again": typed["password"]}
    assert (
        browser.post_form("/admin/users/gusu-mediator", "/admin/users/gusu-mediator/password", same).status_code == 200
    )
    assert web.browser().sign_in("gusu-mediator", "another long password").status_code == 302
    record = text_of(browser.get("/admin/users/gusu-mediator"))
    assert record.count("password set") >= 3  # the fixture's, and the two here


def test_a_password_form_sent_again_by_a_reload_sets_nothing_and_the_shown_password_stays_good(web: WebWorld) -> None:
    browser = admin(web)
    page = browser.get("/admin/users/gusu-mediator")
    key = re.search(r'name="key" value="([0-9a-f]{32})"', text_of(page))
    assert key is not None
    form = {"csrf_token": csrf_token(page), "key": key.group(1), "how": "generated"}
    made = browser.client.post("/admin/users/gusu-mediator/password", data=form)
    [password] = SECRET.findall(text_of(made))
    again = browser.client.post("/admin/users/gusu-mediator/password", data=form)  # the browser's reload
    assert again.status_code == 409 and not SECRET.findall(text_of(again))
    assert web.browser().sign_in("gusu-mediator", password).status_code == 302


# -- scope and roles --------------------------------------------------------------------------------------------


def test_an_admin_of_another_district_finds_nothing_outside_it_and_changes_nothing(web: WebWorld) -> None:
    browser = admin(web, "wuzhong-admin")
    assert browser.get("/admin/users/gusu-mediator").status_code == 404
    users = text_of(browser.get("/admin/users"))
    assert "wuzhong-mediator" in users and "gusu-mediator" not in users
    units = text_of(browser.get("/admin/units"))
    assert "<code>suzhou.wuzhong</code>" in units and "<code>suzhou.gusu" not in units and "姑苏" not in units
    token = csrf_token(browser.get("/admin/users"))
    for path, data in (
        ("/admin/users/gusu-mediator", {"role": "caseworker", "org_unit": "suzhou.wuzhong"}),
        ("/admin/users/gusu-mediator/active", {"active": "0"}),
        ("/admin/users/gusu-mediator/password", {"how": "generated"}),
    ):
        assert browser.client.post(path, data={"csrf_token": token, **data}).status_code == 404, path
    into_gusu = browser.post_form(
        "/admin/units", "/admin/units", {"path": "suzhou.gusu.canglang", "name": "沧浪街道", "level": ""}
    )
    assert into_gusu.status_code == 403 and get_org(web.cw, "suzhou.gusu.canglang") is None
    new_there = {"user_id": "planted", "name": "某人", "role": "mediator", "org_unit": "suzhou.gusu"}
    assert browser.post_form("/admin/users", "/admin/users", new_there).status_code == 403
    moved = browser.post_form(
        "/admin/users/wuzhong-mediator",
        "/admin/users/wuzhong-mediator",
        {"role": "mediator", "org_unit": "suzhou.gusu"},
    )
    assert moved.status_code == 403
    mediator = get_user(web.cw, "gusu-mediator")
    wuzhong = get_user(web.cw, "wuzhong-mediator")
    assert mediator is not None and mediator.active and mediator.role == "mediator"
    assert wuzhong is not None and wuzhong.org_unit == "suzhou.wuzhong" and get_user(web.cw, "planted") is None
    assert web.browser().sign_in("gusu-mediator").status_code == 302  # its password untouched


@pytest.mark.parametrize("who", ["gusu-mediator", "gusu-supervisor", "gusu-auditor"])
def test_a_role_that_may_not_manage_accounts_gets_403(web: WebWorld, who: str) -> None:
    browser = web.signed_in(who)
    for path in ("/admin/units", "/admin/users", "/admin/users/gusu-inspector"):
        assert browser.get(path).status_code == 403, path
    token = csrf_token(browser.get("/"))
    for path, data in (
        ("/admin/units", {"path": "suzhou.gusu.z", "name": "z"}),
        ("/admin/users", {"user_id": "z", "name": "z", "role": "admin", "org_unit": "suzhou.gusu"}),
        ("/admin/users/gusu-inspector", {"role": "admin", "org_unit": "suzhou.gusu"}),
        ("/admin/users/gusu-inspector/active", {"active": "0"}),
        ("/admin/users/gusu-inspector/password", {"how": "generated"}),
    ):
        refused = browser.client.post(path, data={"csrf_token": token, **data})
        assert refused.status_code == 403 and "您的角色无权进行此操作" in text_of(refused), path
    assert get_org(web.cw, "suzhou.gusu.z") is None and get_user(web.cw, "z") is None
    inspector = get_user(web.cw, "gusu-inspector")
    assert inspector is not None and inspector.active and inspector.role == "inspector"


def test_the_administration_link_is_there_for_the_roles_with_a_screen(web: WebWorld) -> None:
    assert "管理" in text_of(web.signed_in("gusu-admin").get("/"))
    assert 'href="/admin"' in text_of(web.signed_in("gusu-supervisor").get("/"))  # offer campaigns
    mediator = web.signed_in("gusu-mediator")
    assert 'href="/admin"' not in text_of(mediator.get("/"))
    assert mediator.get("/admin").status_code == 403
    index = text_of(web.signed_in("gusu-admin").get("/admin"))
    assert 'href="/admin/units"' in index and 'href="/admin/users"' in index and "/admin/campaigns" not in index
    assert web.signed_in("gusu-admin").get("/admin/campaigns/new").status_code == 403  # admins issue no offers


def test_an_auditor_reads_the_record_of_account_changes_of_their_unit_and_changes_nothing(web: WebWorld) -> None:
    admin(web).post_form("/admin/users/gusu-mediator", "/admin/users/gusu-mediator/active", {"active": "0"})
    admin(web, "wuzhong-admin").post_form(
        "/admin/users/wuzhong-mediator", "/admin/users/wuzhong-mediator/active", {"active": "0"}
    )
    auditor = in_english(web.signed_in("gusu-auditor"))
    index = text_of(auditor.get("/admin"))
    assert 'href="/admin/account-changes"' in index and "/admin/users" not in index
    record = text_of(auditor.get("/admin/account-changes"))
    row = re.search(r"<tr>\s*<td>[^<]+</td>\s*<td>gusu-mediator</td>.*?</tr>", record, re.S)
    assert row is not None and "gusu-admin" in row.group(0) and "deactivated" in row.group(0)
    assert "active: True → False" in row.group(0)
    assert "wuzhong-mediator" not in record  # another district's accounts
    assert 'href="/admin/users/' not in record  # no links to screens an auditor may not open
    assert web.signed_in("gusu-inspector").get("/admin/account-changes").status_code == 403
    everyone = text_of(admin(web).get("/admin/account-changes"))
    assert 'href="/admin/users/gusu-mediator"' in everyone


# -- offer campaigns ---------------------------------------------------------------------------------------------


def test_a_csv_with_bad_rows_is_refused_naming_each_line_and_nothing_is_stored(web: WebWorld) -> None:
    browser = in_english(web.signed_in("gusu-supervisor"))
    before = rows(web.cw)
    data = (
        "企业名称,统一社会信用代码,职工人数\n"
        f"苏州甲公司,{credit_code(1)},12\n"
        "\n"
        f",{credit_code(2)},5\n"
        f"苏州乙公司,{credit_code(3)},十二\n"
        f"苏州丙公司,{credit_code(1)},3\n"
    ).encode("gb18030")  # and read as GB18030 without being told
    refused = upload(browser, data)
    assert refused.status_code == 422
    page = text_of(refused)
    for line in (
        "line 4: name: is required",
        "line 5: employees: &#39;十二&#39; is not a whole number",
        "line 6: lists the same enterprise as line 2",
    ):
        assert f"<li>{line}</li>" in page, line
    assert "Nothing is stored" in page and f'value="{DOCUMENT}"' in page
    assert rows(web.cw) == before

    for bad, named in (
        (b"company,staff\nx,1\n", "the header row needs a &#39;name&#39; (企业名称) column"),
        ("name\n苏州甲公司\n".encode("utf-16"), "UTF-16 text"),
        (b"", "choose the CSV file of the enterprises"),
    ):
        assert named in text_of(upload(browser, bad)), named
    for field, value, problem in (
        ("wage_increase_pct", "150", "must be a percentage from -100 to 100"),
        ("minimum_wage", "-1", "must be a positive amount in CNY"),
        ("issuing_union", "", "is required"),
    ):
        offer = upload(browser, enterprises_csv(2), **{field: value})
        assert offer.status_code == 422
        assert f'<p class="problem" id="{field}-problem" role="alert">{problem}</p>' in text_of(offer), field
    outside = upload(browser, enterprises_csv(2), org_unit="suzhou.wuzhong")
    assert outside.status_code == 403 and 'id="org_unit-problem"' in text_of(outside)
    assert rows(web.cw) == before


def test_a_good_csv_previews_and_without_a_scheduler_the_campaign_is_stored_waiting(web: WebWorld) -> None:
    browser = in_english(web.signed_in("gusu-supervisor"))
    before = rows(web.cw)
    preview = upload(browser, enterprises_csv(3))
    assert preview.status_code == 200
    page = text_of(preview)
    assert "3 enterprises" in page and "苏州示例03有限公司" in page and "Start the campaign" in page
    assert rows(web.cw) == before  # a preview stores nothing

    forged = start_from(browser, preview, csv_text="企业名称\n苏州甲公司\n苏州甲公司\n")
    assert forged.status_code == 422 and "line 3: lists the same enterprise as line 2" in text_of(forged)
    assert rows(web.cw) == before  # the text sent back is checked again

    started = start_from(browser, preview)
    assert started.status_code == 303
    campaign_id = started.headers["Location"].rsplit("/", 1)[1]
    uuid.UUID(campaign_id)
    assert rows(web.cw) == {**before, "campaigns": before["campaigns"] + 1}  # stored, nothing opened
    page = text_of(browser.get(started.headers["Location"]))
    assert "its run could not be started: no Prefect server is configured (PREFECT_API_URL)" in page
    assert "Waiting: stored, but no run is started yet." in page
    assert '<progress id="campaign-progress" max="3" value="0">' in page and "3 pending" in page
    assert 'http-equiv="refresh"' not in page and "Start a run for the 3 pending" in page
    again = browser.post_form(started.headers["Location"], f"/admin/campaigns/{campaign_id}/start", {})
    assert again.status_code == 303 and "PREFECT_API_URL" in text_of(browser.get(again.headers["Location"]))
    assert rows(web.cw)["case_index"] == before["case_index"]
    listed = text_of(browser.get("/admin/campaigns"))
    assert f'href="/admin/campaigns/{campaign_id}"' in listed and "0 opened, 0 failed of 3" in listed
    assert web.signed_in("wuzhong-mediator").get(f"/admin/campaigns/{campaign_id}").status_code == 404
    assert browser.get(f"/admin/campaigns/{uuid.uuid4()}").status_code == 404
    assert web.signed_in("gusu-mediator").post_form("/", f"/admin/campaigns/{campaign_id}/start", {}).status_code == 403


class HereScheduler:
    """Runs a campaign at once, in this process, through the engine (as tests/api/test_campaigns.py does)."""

    def __init__(self, cw: Casework) -> None:
        self.cw = cw
        self.runs: dict[str, RunState] = {}

    def start_campaign_run(self, campaign_id: uuid.UUID) -> str:
        run_id = f"here-{len(self.runs) + 1}"
        _, totals = run_campaign(self.cw, campaign_id)
        self.runs[run_id] = {"state": "completed", "state_name": "Completed", "message": f"{totals['opened']} opened"}
        return run_id

    def run_state(self, run_id: str) -> RunState:
        return self.runs[run_id]


class QueuedScheduler:
    """Starts nothing it runs itself: its runs stay running, as a run on a busy worker would."""

    def start_campaign_run(self, campaign_id: uuid.UUID) -> str:
        return "7f3c2a10-0000-4000-8000-000000000001"

    def run_state(self, run_id: str) -> RunState:
        return {"state": "running", "state_name": "Running", "message": None}


def browser_on(web_world: WebWorld, scheduler: Any, user_id: str = "gusu-supervisor") -> Browser:
    """A browser on an app built over the same service with `scheduler`, the workspace added to it."""
    app = create_app(web_world.cw, scheduler)
    web.register(app)
    browser = Browser(app.test_client())
    assert browser.sign_in(user_id).status_code == 302
    return in_english(browser)


def test_a_started_campaign_shows_its_progress_and_the_cases_it_opened(web: WebWorld) -> None:
    browser = browser_on(web, HereScheduler(web.cw))
    before = rows(web.cw)
    started = start_from(browser, upload(browser, enterprises_csv(3)))
    assert started.status_code == 303
    assert rows(web.cw) == {"campaigns": before["campaigns"] + 1, "case_index": before["case_index"] + 3}
    page = text_of(browser.get(started.headers["Location"]))
    assert "The campaign&#39;s run is started." in page
    assert '<progress id="campaign-progress" max="3" value="3">' in page and "3 opened, 0 failed of 3" in page
    assert "Finished 2026-03-02 09:00." in page and 'http-equiv="refresh"' not in page
    with web.cw.read_transaction() as session:
        numbers = session.execute(select(case_index.c.number).where(case_index.c.reference == DOCUMENT)).scalars()
        opened = sorted(numbers)
    assert len(opened) == 3
    for number in opened:
        assert f'<a href="/case/{number}">{number}</a>' in page
        assert browser.get(f"/case/{number}").status_code == 200
    assert "here-1" in page and "Start a run" not in page


def test_while_its_run_goes_on_the_campaign_page_refreshes_itself_and_links_to_prefect(
    web: WebWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.example:4200/api")
    browser = browser_on(web, QueuedScheduler())
    started = start_from(browser, upload(browser, enterprises_csv(2)))
    page = text_of(browser.get(started.headers["Location"]))
    assert '<meta http-equiv="refresh" content="5">' in page
    assert "Running (Running)" in page and "0 opened, 0 failed of 2" in page and "Start a run" not in page
    run = "7f3c2a10-0000-4000-8000-000000000001"
    assert f'href="http://prefect.example:4200/runs/flow-run/{run}"' in page
    monkeypatch.setenv("PREFECT_UI_URL", "https://prefect.example/ui/")
    page = text_of(browser.get(started.headers["Location"]))
    assert f'href="https://prefect.example/ui/runs/flow-run/{run}"' in page


def test_every_administration_page_reads_in_chinese(web: WebWorld) -> None:
    """Chinese is the default: each page renders in it (a stray % in a translation would break the page)."""
    supervisor = browser_on(web, QueuedScheduler())
    supervisor.post_form("/", "/language", {"lang": "zh_CN"})
    assert "工资增长幅度" in text_of(supervisor.get("/admin/campaigns/new"))
    preview = upload(supervisor, enterprises_csv(2))
    assert "文件和要约均通过全部检查：共 2 家企业。" in text_of(preview)
    campaign = text_of(supervisor.get(start_from(supervisor, preview).headers["Location"]))
    assert "共 2 家，已立案 0 家，失败 0 家" in campaign and "运行中（Running）" in campaign
    assert "要约行动" in text_of(supervisor.get("/admin/campaigns"))
    browser = web.signed_in("gusu-admin")
    for path, words in (
        ("/admin", "组织单位"),
        ("/admin/units", "添加单位"),
        ("/admin/users", "添加用户"),
        ("/admin/users/gusu-mediator", "账户变更记录"),
        ("/admin/users/gusu-admin", "这是您本人的账户"),
    ):
        page = browser.get(path)
        assert page.status_code == 200 and words in text_of(page), path
    created = browser.post_form(
        "/admin/users", "/admin/users", {"user_id": "x1", "name": "某", "role": "mediator", "org_unit": "suzhou.gusu"}
    )
    assert "请立即复制：它不会再次显示。" in text_of(created)


def test_a_large_file_previews_and_its_text_comes_back_whole_to_start(web: WebWorld) -> None:
    """The start form sends the file's text back: more than the 500 kB a form field may hold by default, and more
    than the API's 2 MiB once a browser percent-encodes Chinese; the start form is multipart and has room for it."""
    browser = browser_on(web, QueuedScheduler())
    lines = ["企业名称,统一社会信用代码"]
    lines += [f"苏州{'示范' * 90}{i:04d}有限公司,{credit_code(i, '91320500MA2X')}" for i in range(1, 1201)]
    data = ("\n".join(lines) + "\n").encode("gb18030")
    assert len(data) < 2_000_000
    preview = upload(browser, data)
    assert preview.status_code == 200 and "1200 enterprises" in text_of(preview)
    assert 'enctype="multipart/form-data"' in text_of(preview)
    fields = {name: html.unescape(value) for name, value in HIDDEN.findall(text_of(preview))}
    assert len(fields["csv_text"].encode()) > 500_000
    started = browser.client.post("/admin/campaigns", data=fields, content_type="multipart/form-data")
    assert started.status_code == 303, started.status_code
    page = text_of(browser.get(started.headers["Location"]))
    assert '<progress id="campaign-progress" max="1200" value="0">' in page


class RefusingScheduler:
    """Opens a campaign's first target and has the aggregate refuse the others (offered with terms out of range),
    as a target refused when it is opened is recorded."""

    def __init__(self, cw: Casework) -> None:
        self.cw = cw

    def start_campaign_run(self, campaign_id: uuid.UUID) -> str:
        found = get_campaign(self.cw, campaign_id)
        open_targets(self.cw, found, [1])
        open_targets(self.cw, replace(found, terms={"wage_increase_pct": "150"}), range(2, found.total + 1))
        finish(self.cw, campaign_id)
        return "refusing-1"

    def run_state(self, run_id: str) -> RunState:
        return {"state": "completed", "state_name": "Completed", "message": None}


def test_the_targets_refused_when_opened_are_listed_with_the_refusal(web: WebWorld) -> None:
    browser = browser_on(web, RefusingScheduler(web.cw))
    started = start_from(browser, upload(browser, enterprises_csv(3)))
    page = text_of(browser.get(started.headers["Location"]))
    assert '<progress id="campaign-progress" max="3" value="3">' in page and "1 opened, 2 failed of 3" in page
    failures = re.search(r'<table class="queue failures">.*?</table>', page, re.S)
    assert failures is not None
    for seq in (2, 3):
        assert f"<td>{seq}</td><td>苏州示例0{seq}有限公司</td>" in failures.group(0)
    assert failures.group(0).count("must be a percentage from -100 to 100") == 2
    opened = re.search(r'<table class="queue opened">.*?</table>', page, re.S)
    assert opened is not None and opened.group(0).count('<a href="/case/') == 1
    assert "Start a run" not in page  # nothing pending: a new run would open nothing
