"""The nightly checkpoint flow: a signed checkpoint over the new events, its artifact, its export sent to the
webhook, and a webhook that fails leaving the checkpoint made."""

from __future__ import annotations

import dataclasses
import json

from engine.checkpoints import Checkpoint, CheckpointKey, verify_checkpoints
from engine.service import Casework
from tests.integration.receivers import HttpReceiver
from tests.integration.scenarios import MEDIATOR, file_dispute
from tests.workflows.support import ON_SQLITE, artifacts, flow_run_id, run_flow
from workflows.maintenance import checkpoint_event_store
from workflows.runtime import using

pytestmark = ON_SQLITE


def test_the_flow_signs_the_new_events_sends_the_export_and_survives_a_failing_webhook(cw: Casework, clock) -> None:
    opened = file_dispute(cw)
    cw.execute(opened.case_id, "accept", MEDIATOR)
    with HttpReceiver(fail_first=0) as receiver:
        cw.settings = dataclasses.replace(cw.settings, checkpoint_webhook=receiver.url)
        with using(cw):
            state = run_flow(checkpoint_event_store)
        assert state.is_completed(), state.message
        result = state.result()
        assert (result["id"], result["tree_size"], result["added"], result["sent"]) == (1, 2, 2, True)
        [received] = receiver.accepted
        sent = Checkpoint.from_export(json.loads(received.body))
        assert sent.tree_size == 2 and sent.signature_problem(CheckpointKey(cw.settings).public) is None
        [artifact] = [a for a in artifacts(flow_run_id(state)) if a.key == "checkpoint"]
        assert "# Checkpoint 1" in artifact.data and "2 events (2 new" in artifact.data
        assert "sent to the webhook" in artifact.data

    file_dispute(cw)
    with HttpReceiver(fail_first=5) as failing:
        cw.settings = dataclasses.replace(cw.settings, checkpoint_webhook=failing.url)
        with using(cw):
            state = run_flow(checkpoint_event_store)
        assert state.is_completed(), state.message
        assert state.result()["added"] == 1 and state.result()["sent"] is False and failing.requests == 1
    assert verify_checkpoints(cw.sql_engine, pinned=CheckpointKey(cw.settings).public).ok
