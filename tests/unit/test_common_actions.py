"""The actions every case type shares (base.py), and the business-time rules of every command, told on a
labor dispute; test_every_case_type.py checks that the other case types keep them too."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from aggregates.base import DEFAULT_TZ, Clock, Context, new_clock
from aggregates.errors import ActionNotAllowed, InvalidCommand
from aggregates.labor_dispute import LaborDispute
from aggregates.policy import CALENDAR_WEEKENDS_ONLY, DEFAULT_POLICY
from tests.unit.support import Desk, replay

NUMBER = "LD-2026-000042"


def file_dispute(desk: Desk, **ctx_kwargs) -> LaborDispute:
    return LaborDispute.file(
        desk.ctx("mediator", **ctx_kwargs),
        case_id=uuid4(),
        number=NUMBER,
        org_unit="gusu",
        employer={"name": "Gusu Textiles"},
        applicants=[{"name": "Chen Jing"}],
        workers_involved=1,
        claims=[{"category": "wages", "amount": "3000"}],
    )


def accepted(desk: Desk) -> LaborDispute:
    """A dispute accepted on Monday 2 March 2026: its mediation clock is due 17 March."""
    case = file_dispute(desk)
    case.accept(desk.ctx("mediator"))
    return case


def last_event(case):
    return case.pending_events[-1]


# -- assign -------------------------------------------------------------------------------


def test_assign_records_the_previous_assignee():
    desk = Desk()
    case = file_dispute(desk)
    case.assign(desk.ctx("supervisor"), assignee=" mediator-3 ")
    assert case.assignee == "mediator-3"
    assert last_event(case).data == {"assignee": "mediator-3", "previous": None}
    case.assign(desk.ctx("supervisor"), assignee="mediator-4")
    assert last_event(case).data == {"assignee": "mediator-4", "previous": "mediator-3"}
    assert case.stage == "filed"
    assert case.statistics(last_event(case)) == {}


def test_assign_is_for_supervisors_only():
    desk = Desk()
    case = file_dispute(desk)
    with pytest.raises(ActionNotAllowed) as err:
        case.assign(desk.ctx("mediator"), assignee="mediator-3")
    assert "roles that may: supervisor" in str(err.value)
    assert "assign" not in err.value.allowed


def test_assign_requires_an_assignee():
    desk = Desk()
    case = file_dispute(desk)
    with pytest.raises(InvalidCommand) as err:
        case.assign(desk.ctx("supervisor"), assignee="  ")
    assert err.value.fields == {"assignee": "is required"}
    assert case.version == 1


# -- add_note -----------------------------------------------------------------------------


def test_add_note_keeps_who_and_when():
    desk = Desk()
    case = file_dispute(desk)
    desk.advance(hours=3)
    case.add_note(desk.ctx("mediator", actor="mediator-9"), text="  phoned the HR manager ")
    assert case.notes == [{"at": desk.now, "by": "mediator-9", "text": "phoned the HR manager"}]
    assert case.stage == "filed"
    assert case.updated_at == desk.now


def test_add_note_requires_text():
    desk = Desk()
    case = file_dispute(desk)
    with pytest.raises(InvalidCommand) as err:
        case.add_note(desk.ctx("mediator"), text="")
    assert err.value.fields == {"text": "is required"}


# -- link_case ----------------------------------------------------------------------------


def test_link_case():
    desk = Desk()
    case = file_dispute(desk)
    other = uuid4()
    case.link_case(
        desk.ctx("mediator"), case_id=other, number="RP-2026-000001", kind="rectification", relation="caused"
    )
    assert case.links == [{"case_id": other, "number": "RP-2026-000001", "kind": "rectification", "relation": "caused"}]
    with pytest.raises(InvalidCommand) as err:
        case.link_case(
            desk.ctx("mediator"), case_id=other, number="RP-2026-000001", kind="rectification", relation="caused"
        )
    assert err.value.fields == {"case_id": "already linked to RP-2026-000001"}
    with pytest.raises(InvalidCommand) as err:
        case.link_case(desk.ctx("mediator"), case_id=case.id, number=NUMBER, kind="labor_dispute", relation="self")
    assert "case_id" in err.value.fields
    assert len(case.links) == 1


# -- pause / resume -----------------------------------------------------------------------


def test_pause_and_resume_move_the_due_date_by_the_days_paused():
    desk = Desk()
    case = accepted(desk)
    assert case.clocks["mediation"].due_on == date(2026, 3, 17)
    desk.advance(days=2)
    case.pause_clock(desk.ctx("supervisor", reason="worker in hospital"), clock="mediation")
    assert case.clocks["mediation"].paused_on == date(2026, 3, 4)
    assert last_event(case).data == {"clock": "mediation", "paused_on": date(2026, 3, 4)}
    desk.advance(days=20)  # 24 March: past the old due date, but paused clocks never run out
    assert not case.clocks["mediation"].is_overdue(date(2026, 3, 24))
    case.resume_clock(desk.ctx("supervisor"), clock="mediation")
    clock = case.clocks["mediation"]
    assert clock.paused_on is None
    assert clock.due_on == date(2026, 4, 6)
    assert last_event(case).data == {"clock": "mediation", "due_on": date(2026, 4, 6), "paused_days": 20}
    assert clock.extensions == 0


def test_resume_on_the_day_of_pausing_keeps_the_due_date():
    desk = Desk()
    case = accepted(desk)
    case.pause_clock(desk.ctx("supervisor", reason="x"), clock="mediation")
    case.resume_clock(desk.ctx("supervisor"), clock="mediation")
    assert case.clocks["mediation"].due_on == date(2026, 3, 17)
    assert last_event(case).data["paused_days"] == 0


def test_pausing_a_working_day_clock_moves_its_due_date_by_the_working_days_paused():
    # Filed Wed 4 March 2026: the acceptance clock counts 3 working days, Thu 5, Fri 6, Mon 9.
    desk = Desk(now=datetime(2026, 3, 4, 9, 0, tzinfo=DEFAULT_TZ))
    case = file_dispute(desk)
    assert case.clocks["acceptance"].due_on == date(2026, 3, 9)
    desk.advance(days=1)  # paused Thu 5 March
    case.pause_clock(desk.ctx("supervisor", reason="applicant unreachable"), clock="acceptance")
    desk.advance(days=4)  # resumed Mon 9 March: it stood still over Fri 6 and Mon 9, 2 working days
    case.resume_clock(desk.ctx("supervisor"), clock="acceptance")
    # Mon 9 + 2 working days = Wed 11 March (4 calendar days would have made it Fri 13).
    assert case.clocks["acceptance"].due_on == date(2026, 3, 11)
    assert last_event(case).data["paused_days"] == 2
    assert replay(case).clocks["acceptance"] == case.clocks["acceptance"]


def test_pause_needs_a_reason_and_an_open_unpaused_clock():
    desk = Desk()
    case = accepted(desk)
    with pytest.raises(InvalidCommand) as err:
        case.pause_clock(desk.ctx("supervisor"), clock="mediation")
    assert "reason" in err.value.fields
    with pytest.raises(InvalidCommand) as err:
        case.pause_clock(desk.ctx("supervisor", reason="x"), clock="acceptance")
    assert err.value.fields == {"clock": "no open clock 'acceptance'; open clocks: mediation"}
    case.pause_clock(desk.ctx("supervisor", reason="x"), clock="mediation")
    # Its only clock paused, the case no longer offers pause_clock, and refuses it as not allowed now.
    assert "pause_clock" not in case.allowed_actions("supervisor", desk.ctx("supervisor").now)
    with pytest.raises(ActionNotAllowed) as refused:
        case.pause_clock(desk.ctx("supervisor", reason="x"), clock="mediation")
    assert "already paused since 2026-03-02" in refused.value.why
    assert "pause_clock" not in refused.value.allowed and "resume_clock" in refused.value.allowed


def test_resume_refuses_a_clock_that_is_not_paused():
    desk = Desk()
    case = accepted(desk)
    # With no clock paused, resume_clock is not offered and is refused as not allowed now.
    assert "resume_clock" not in case.allowed_actions("supervisor", desk.ctx("supervisor").now)
    with pytest.raises(ActionNotAllowed) as refused:
        case.resume_clock(desk.ctx("supervisor"), clock="mediation")
    assert refused.value.why == "no clock is paused"
    case.pause_clock(desk.ctx("supervisor", reason="x"), clock="mediation")
    with pytest.raises(InvalidCommand) as err:
        case.resume_clock(desk.ctx("supervisor"), clock="nothing")
    assert "no open clock 'nothing'" in err.value.fields["clock"]


def test_pause_and_resume_are_for_supervisors():
    desk = Desk()
    case = accepted(desk)
    with pytest.raises(ActionNotAllowed):
        case.pause_clock(desk.ctx("mediator", reason="x"), clock="mediation")
    case.pause_clock(desk.ctx("supervisor", reason="x"), clock="mediation")
    with pytest.raises(ActionNotAllowed):
        case.resume_clock(desk.ctx("mediator"), clock="mediation")


def test_a_paused_clock_survives_replay():
    desk = Desk()
    case = accepted(desk)
    case.pause_clock(desk.ctx("supervisor", reason="x"), clock="mediation")
    assert replay(case).clocks == case.clocks


# -- extend_clock -------------------------------------------------------------------------


def test_extend_clock_by_days_or_to_a_date():
    desk = Desk()
    case = file_dispute(desk)
    assert case.clocks["acceptance"].due_on == date(2026, 3, 5)
    case.extend_clock(desk.ctx("supervisor", reason="applicant to bring documents"), clock="acceptance", days=2)
    assert case.clocks["acceptance"].due_on == date(2026, 3, 7)
    assert case.clocks["acceptance"].extensions == 1
    assert last_event(case).data == {
        "clock": "acceptance",
        "due_on": date(2026, 3, 7),
        "previous_due_on": date(2026, 3, 5),
    }
    case.extend_clock(desk.ctx("supervisor", reason="again"), clock="acceptance", due_on=date(2026, 3, 10))
    assert case.clocks["acceptance"].due_on == date(2026, 3, 10)
    assert case.clocks["acceptance"].extensions == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "days"),
        ({"days": 3, "due_on": date(2026, 4, 1)}, "days"),
        ({"days": 0}, "days"),
        ({"days": 367}, "days"),
        ({"days": 2.5}, "days"),
        ({"days": True}, "days"),
        ({"due_on": datetime(2026, 3, 20, tzinfo=DEFAULT_TZ)}, "due_on"),
        ({"due_on": "2026-03-20"}, "due_on"),
        ({"due_on": date(2026, 3, 5)}, "due_on"),
        ({"due_on": date(2026, 3, 1)}, "due_on"),
    ],
)
def test_extend_clock_refuses_bad_extensions(kwargs, field):
    desk = Desk()
    case = file_dispute(desk)
    with pytest.raises(InvalidCommand) as err:
        case.extend_clock(desk.ctx("supervisor", reason="x"), clock="acceptance", **kwargs)
    assert list(err.value.fields) == [field]
    assert case.clocks["acceptance"].due_on == date(2026, 3, 5)


def test_extend_clock_needs_a_reason_an_open_clock_and_a_supervisor():
    desk = Desk()
    case = file_dispute(desk)
    with pytest.raises(InvalidCommand) as err:
        case.extend_clock(desk.ctx("supervisor"), clock="acceptance", days=1)
    assert "reason" in err.value.fields
    with pytest.raises(InvalidCommand) as err:
        case.extend_clock(desk.ctx("supervisor", reason="x"), clock="performance", days=1)
    assert err.value.fields == {"clock": "no open clock 'performance'; open clocks: acceptance"}
    with pytest.raises(ActionNotAllowed):
        case.extend_clock(desk.ctx("mediator", reason="x"), clock="acceptance", days=1)


# -- raise_alert --------------------------------------------------------------------------
# The acceptance clock of a dispute filed on Monday 2 March 2026 is due on Thursday 5 March.


def test_raise_alert_is_for_the_system_only():
    desk = Desk()
    case = file_dispute(desk)
    desk.advance(days=4)
    for role in ("supervisor", "mediator", "auditor"):
        with pytest.raises(ActionNotAllowed) as err:
            case.raise_alert(desk.ctx(role), clock="acceptance")
        assert "roles that may: system" in str(err.value)
        assert "raise_alert" not in err.value.allowed
    assert "raise_alert" in case.allowed_actions("system", desk.ctx("system").now)
    assert "raise_alert" not in case.allowed_actions("supervisor", desk.ctx("supervisor").now)
    assert case.version == 1 and case.alerts == []


def test_raise_alert_is_refused_until_the_clock_has_run_out():
    desk = Desk()
    case = file_dispute(desk)
    desk.advance(days=3)  # 5 March: the due day itself
    with pytest.raises(ActionNotAllowed) as err:
        case.raise_alert(desk.ctx("system"), clock="acceptance")
    assert err.value.why == "clock 'acceptance' has not run out (due 2026-03-05)"
    assert err.value.action == "raise_alert" and err.value.stage == "filed"
    assert case.version == 1 and case.alerts == []
    assert "deadline_alert" not in case.all_flags()


def test_raise_alert_records_the_clock_its_due_date_and_whom_it_told():
    desk = Desk()
    case = file_dispute(desk)
    desk.advance(days=4)
    case.raise_alert(desk.ctx("system", actor="scheduler"), clock="acceptance", notify=[" supervisor-1 ", "mediator-2"])
    event = last_event(case)
    assert type(event).__name__ == "DeadlineAlertRaised"
    assert event.data == {"clock": "acceptance", "due_on": date(2026, 3, 5), "notify": ["supervisor-1", "mediator-2"]}
    assert event.actor_id == "scheduler" and event.actor_role == "system"
    assert event.clocks_opened == {} and event.clocks_closed == []
    assert case.stage == "filed"
    assert case.clocks["acceptance"].due_on == date(2026, 3, 5)  # the clock itself is untouched
    assert case.alerts == [
        {
            "clock": "acceptance",
            "due_on": date(2026, 3, 5),
            "notify": ["supervisor-1", "mediator-2"],
            "raised_at": desk.now,
        }
    ]
    assert case.statistics(event) == {}
    assert replay(case).alerts == case.alerts


def test_raise_alert_needs_an_open_clock_and_a_list_of_user_ids():
    desk = Desk()
    case = file_dispute(desk)
    desk.advance(days=4)
    with pytest.raises(InvalidCommand) as err:
        case.raise_alert(desk.ctx("system"), clock="mediation")
    assert err.value.fields == {"clock": "no open clock 'mediation'; open clocks: acceptance"}
    for notify in ("supervisor-1", [""], ["  "], [None], ["supervisor-1", 7]):
        with pytest.raises(InvalidCommand) as err:
            case.raise_alert(desk.ctx("system"), clock="acceptance", notify=notify)
        assert err.value.fields == {"notify": "must be a list of user ids"}
    assert case.version == 1 and case.alerts == []
    case.raise_alert(desk.ctx("system"), clock="acceptance")
    assert last_event(case).data["notify"] == []


def test_raise_alert_only_once_for_the_same_clock_and_due_date():
    desk = Desk()
    case = file_dispute(desk)
    desk.advance(days=4)
    case.raise_alert(desk.ctx("system"), clock="acceptance", notify=["supervisor-1"])
    desk.advance(days=2)  # a sweep that runs again (or late) is refused, not a second alert
    with pytest.raises(ActionNotAllowed) as err:
        case.raise_alert(desk.ctx("system"), clock="acceptance", notify=["supervisor-1"])
    assert err.value.why == "an alert for clock 'acceptance' due 2026-03-05 was already raised"
    assert len(case.alerts) == 1 and case.version == 2


def test_raise_alert_again_once_an_extended_clock_runs_out_again():
    desk = Desk()
    case = file_dispute(desk)
    desk.advance(days=4)  # 6 March
    case.raise_alert(desk.ctx("system"), clock="acceptance")
    case.extend_clock(desk.ctx("supervisor", reason="applicant to bring documents"), clock="acceptance", days=3)
    assert case.clocks["acceptance"].due_on == date(2026, 3, 8)
    with pytest.raises(ActionNotAllowed) as err:
        case.raise_alert(desk.ctx("system"), clock="acceptance")
    assert "has not run out (due 2026-03-08)" in err.value.why
    desk.advance(days=3)  # 9 March
    case.raise_alert(desk.ctx("system"), clock="acceptance")
    assert [(a["clock"], a["due_on"]) for a in case.alerts] == [
        ("acceptance", date(2026, 3, 5)),
        ("acceptance", date(2026, 3, 8)),
    ]
    assert [a["due_on"] for a in case.active_alerts] == [date(2026, 3, 8)]


def test_a_paused_clock_raises_no_alert():
    desk = Desk()
    case = file_dispute(desk)
    case.pause_clock(desk.ctx("supervisor", reason="applicant abroad"), clock="acceptance")
    desk.advance(days=10)
    with pytest.raises(ActionNotAllowed) as err:
        case.raise_alert(desk.ctx("system"), clock="acceptance")
    assert "has not run out" in err.value.why


def test_the_deadline_alert_flag_shows_until_someone_acts_on_the_clock():
    desk = Desk()
    case = LaborDispute.file(
        desk.ctx("mediator"),
        case_id=uuid4(),
        number=NUMBER,
        org_unit="gusu",
        employer={"name": "Gusu Textiles"},
        applicants=[{"name": "Chen Jing"}],
        workers_involved=12,
        claims=[{"category": "wages", "amount": "3000"}],
    )
    desk.advance(days=4)
    case.raise_alert(desk.ctx("system"), clock="acceptance")
    # The case type's own flags stay as they were; all_flags (the case index) adds the alert.
    assert case.flags() == ["collective"]
    assert case.all_flags() == ["collective", "deadline_alert"]
    assert case.summary()["flags"] == "collective,deadline_alert"
    assert replay(case).all_flags() == case.all_flags()
    # Extending the clock answers the alert ...
    case.extend_clock(desk.ctx("supervisor", reason="documents missing"), clock="acceptance", days=3)
    assert case.active_alerts == [] and case.all_flags() == ["collective"]
    assert len(case.alerts) == 1  # ... but the alert stays on the record
    # ... and so does closing the clock, once the extended one ran out and was alerted again.
    desk.advance(days=3)
    case.raise_alert(desk.ctx("system"), clock="acceptance")
    assert case.all_flags() == ["collective", "deadline_alert"]
    case.accept(desk.ctx("mediator"))
    assert "acceptance" not in case.clocks
    assert case.active_alerts == [] and case.all_flags() == ["collective"]
    assert case.summary()["flags"] == "collective"


# -- business time ------------------------------------------------------------------------


def test_back_dated_command_keeps_both_times():
    desk = Desk()
    case = file_dispute(desk)
    desk.advance(days=2)
    occurred = datetime(2026, 3, 3, 15, 0, tzinfo=DEFAULT_TZ)
    case.accept(desk.ctx("mediator", occurred_at=occurred))
    event = last_event(case)
    assert event.occurred_at == occurred
    assert event.timestamp == desk.now
    # The mediation clock starts on the business date, not the recording date.
    assert case.clocks["mediation"].started_on == date(2026, 3, 3)
    assert case.clocks["mediation"].due_on == date(2026, 3, 18)
    assert case.updated_at == occurred


def test_occurred_at_may_not_lie_in_the_future():
    desk = Desk()
    case = file_dispute(desk)
    with pytest.raises(InvalidCommand) as err:
        case.accept(desk.ctx("mediator", occurred_at=desk.now + timedelta(minutes=1)))
    assert err.value.fields == {"occurred_at": "may not lie in the future"}
    with pytest.raises(InvalidCommand) as err:
        file_dispute(desk, occurred_at=desk.now + timedelta(days=1))
    assert "occurred_at" in err.value.fields


def test_back_dating_is_limited_by_policy():
    desk = Desk()
    case = file_dispute(desk, occurred_at=desk.now - timedelta(days=30))
    assert case.clocks["acceptance"].started_on == date(2026, 1, 31)
    with pytest.raises(InvalidCommand) as err:
        file_dispute(desk, occurred_at=desk.now - timedelta(days=30, seconds=1))
    assert err.value.fields == {"occurred_at": "may be back-dated at most 30 days"}


def test_back_dating_limit_follows_a_stricter_policy():
    from dataclasses import replace

    desk = Desk(policy=replace(DEFAULT_POLICY, max_backdate_days=5))
    file_dispute(desk, occurred_at=desk.now - timedelta(days=5))
    with pytest.raises(InvalidCommand) as err:
        file_dispute(desk, occurred_at=desk.now - timedelta(days=6))
    assert err.value.fields == {"occurred_at": "may be back-dated at most 5 days"}


def test_back_dating_before_the_last_event_is_refused():
    desk = Desk()
    case = file_dispute(desk)
    desk.advance(days=1)
    with pytest.raises(InvalidCommand) as err:
        case.accept(desk.ctx("mediator", occurred_at=desk.now - timedelta(days=2)))
    assert err.value.fields == {"occurred_at": "may not be earlier than the case's last event"}
    assert case.stage == "filed"


def test_role_is_checked_before_the_reason():
    desk = Desk()
    case = file_dispute(desk)
    with pytest.raises(ActionNotAllowed):
        case.decline(desk.ctx("caseworker"))


def test_business_date_is_taken_in_shanghai():
    late_utc = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)  # 01:30 on 2 March in Shanghai
    ctx = Context(actor_id="a", actor_role="mediator", command_id="c", recorded_at=late_utc)
    assert ctx.today == date(2026, 3, 2)
    assert ctx.business_time == late_utc
    back = Context(
        actor_id="a",
        actor_role="mediator",
        command_id="c",
        recorded_at=late_utc,
        occurred_at=datetime(2026, 2, 28, 8, 0, tzinfo=UTC),
    )
    assert back.today == date(2026, 2, 28)


def test_clock_helpers():
    desk = Desk(now=datetime(2026, 3, 6, 9, 0, tzinfo=DEFAULT_TZ))
    ctx = desk.ctx("mediator")
    clock = new_clock(ctx, "acceptance", "dispute.acceptance")
    # A working-day clock, counted by the aggregates' default policy, which has no published calendar.
    assert clock == Clock(
        "acceptance", date(2026, 3, 6), date(2026, 3, 11), working_days=True, calendar=CALENDAR_WEEKENDS_ONLY
    )
    mediation = new_clock(ctx, "mediation", "dispute.mediation", start=date(2026, 3, 1))
    assert mediation.due_on == date(2026, 3, 16)
    assert not clock.is_overdue(date(2026, 3, 11))
    assert clock.is_overdue(date(2026, 3, 12))
    assert clock.to_data() == {
        "started_on": date(2026, 3, 6),
        "due_on": date(2026, 3, 11),
        "paused_on": None,
        "extensions": 0,
        "working_days": True,
        "calendar": "weekends_only",
    }
    # A calendar-day clock's data keeps the shape it always had.
    assert mediation.to_data() == {
        "started_on": date(2026, 3, 1),
        "due_on": date(2026, 3, 16),
        "paused_on": None,
        "extensions": 0,
    }
