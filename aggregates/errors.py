"""Domain errors: each names what a caseworker needs to act on the refusal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    """A command the domain refuses; nothing is recorded."""

    code = "domain_error"

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": str(self)}


class ActionNotAllowed(DomainError):
    """The command is not valid in the case's current stage (or for the caller's role)."""

    code = "action_not_allowed"

    def __init__(
        self,
        *,
        case: str,
        stage: str,
        action: str,
        allowed: Sequence[str],
        why: str | None = None,
    ) -> None:
        self.case = case
        self.stage = stage
        self.action = action
        self.allowed = list(allowed)
        self.why = why
        allowed_text = ", ".join(self.allowed) if self.allowed else "none"
        detail = f" ({why})" if why else ""
        super().__init__(f"{case}: '{action}' is not allowed in stage '{stage}'{detail}; allowed now: {allowed_text}")

    def to_dict(self) -> dict[str, object]:
        return {
            **super().to_dict(),
            "case": self.case,
            "stage": self.stage,
            "action": self.action,
            "allowed_actions": self.allowed,
        }


class InvalidCommand(DomainError):
    """The command's data is wrong; `fields` maps each bad field to what is wrong with it."""

    code = "invalid_command"

    def __init__(self, case: str, action: str, fields: Mapping[str, str]) -> None:
        self.case = case
        self.action = action
        self.fields = dict(fields)
        problems = "; ".join(f"{k}: {v}" for k, v in self.fields.items())
        super().__init__(f"{case}: '{action}' refused: {problems}")

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "case": self.case, "action": self.action, "fields": self.fields}
