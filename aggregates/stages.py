"""Declarative stage tables.

Each case type declares its stages and actions once, in a `StageTable`; the guards that
refuse a command and the list of actions a role may take now are both read from it: the
stages an action runs from, the roles that may run it, and its state guard, a predicate on
the case (an open proposal to accept, a clock that ran out, an escalation pending) that
says why the action cannot run now.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aggregates.errors import ActionNotAllowed

ROLES = (
    "mediator",
    "negotiator",
    "inspector",
    "caseworker",
    "supervisor",
    "auditor",
    "admin",
    "system",
)
SCHEDULER_ROLE = "system"
USER_ROLES = tuple(r for r in ROLES if r != SCHEDULER_ROLE)
"""The roles a user's account may hold: `system` is the scheduler's own, so no token can act as the scheduler."""

ANY_OPEN = "*"
"""Source marker: the action is allowed in every stage that is not terminal."""

ANY_STAGE = "**"
"""Source marker: the action is allowed in every stage, terminal ones too (an erasure of personal data)."""

Guard = Callable[[Any, Any], "str | None"]
"""A state guard: called with the case and the moment (`aggregates.base.Now`: business date, actor, policy),
it answers None when the action may run now and otherwise why not. The same call lists an action among
those allowed now and refuses the command, so the two never disagree."""


@dataclass(frozen=True)
class Action:
    """One command of a case type: where it may run, where it leads, who may run it."""

    name: str
    event: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    roles: frozenset[str]
    reason_required: bool = False
    counts: tuple[str, ...] = ()
    help: str = ""
    guard: Guard | None = None
    internal: bool = False
    """Recorded only by an engine procedure that does more than the event (an erasure destroys keys), never sent
    as a command: no caller's catalogue lists it and no role is offered it."""

    @property
    def creates(self) -> bool:
        return not self.sources


def _as_tuple(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def action(
    name: str,
    event: str,
    *,
    source: str | Iterable[str] = (),
    target: str | Iterable[str] = (),
    roles: Iterable[str],
    reason: bool = False,
    counts: Iterable[str] = (),
    help: str = "",
    guard: Guard | None = None,
    internal: bool = False,
) -> Action:
    """Shorthand constructor that accepts a single stage or several."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"action {name!r}: unknown roles {sorted(unknown)}")
    return Action(
        name=name,
        event=event,
        sources=_as_tuple(source),
        targets=_as_tuple(target),
        roles=frozenset(roles),
        reason_required=reason,
        counts=tuple(counts),
        help=help,
        guard=guard,
        internal=internal,
    )


class StageTable:
    """The stage graph of one case type."""

    def __init__(
        self,
        *,
        stages: Mapping[str, str],
        terminal: Iterable[str],
        actions: Iterable[Action],
    ) -> None:
        self.stages = dict(stages)
        self.terminal = frozenset(terminal)
        self.actions: dict[str, Action] = {}
        for a in actions:
            if a.name in self.actions:
                raise ValueError(f"duplicate action {a.name!r}")
            for stage in (*a.sources, *a.targets):
                if stage not in (ANY_OPEN, ANY_STAGE) and stage not in self.stages:
                    raise ValueError(f"action {a.name!r} names unknown stage {stage!r}")
            self.actions[a.name] = a
        self.commands = {name: a for name, a in self.actions.items() if not a.internal}
        """The actions a caller may send as commands: all but the internal ones."""
        creating = [a for a in self.actions.values() if a.creates]
        if len(creating) != 1 or len(creating[0].targets) != 1:
            raise ValueError("a stage table needs exactly one creating action with one target")
        self.creating = creating[0]
        self.initial = creating[0].targets[0]
        if self.terminal - set(self.stages):
            raise ValueError(f"unknown terminal stages {sorted(self.terminal - set(self.stages))}")

    def runs_in(self, a: Action, stage: str) -> bool:
        if a.creates:
            return False
        if ANY_STAGE in a.sources:
            return True
        if ANY_OPEN in a.sources:
            return stage not in self.terminal
        return stage in a.sources

    def allowed(self, stage: str, role: str | None = None) -> list[str]:
        """Actions that may run in `stage` (by `role`, when given), in table order, before their state
        guards (a case's `allowed_actions` applies those)."""
        return [
            a.name
            for a in self.actions.values()
            if not a.internal and self.runs_in(a, stage) and (role is None or role in a.roles)
        ]

    def check(self, case: str, stage: str, name: str, role: str) -> Action:
        """The action, or ActionNotAllowed naming the stage and what is allowed instead."""
        a = self.actions.get(name)
        if a is None or not self.runs_in(a, stage):
            raise ActionNotAllowed(case=case, stage=stage, action=name, allowed=self.allowed(stage, role))
        if role not in a.roles:
            raise ActionNotAllowed(
                case=case,
                stage=stage,
                action=name,
                allowed=self.allowed(stage, role),
                why=f"role '{role}' may not run it; roles that may: {', '.join(sorted(a.roles))}",
            )
        return a

    def is_terminal(self, stage: str) -> bool:
        return stage in self.terminal
