"""Engine errors: what went wrong with a command beyond the domain's own refusals."""

from __future__ import annotations

from uuid import UUID

from aggregates.errors import DomainError


class CaseNotFound(DomainError):
    code = "not_found"

    def __init__(self, ref: UUID | str) -> None:
        self.ref = ref
        super().__init__(f"no case {ref}")


class VersionConflict(DomainError):
    """The caller named a version that is no longer current, or a concurrent write won."""

    code = "version_conflict"

    def __init__(self, case: str, expected: int | None, current: int | None) -> None:
        self.case, self.expected, self.current = case, expected, current
        if expected is None:
            message = f"{case} was changed by a concurrent command; reload it and retry"
        else:
            message = f"{case} is at version {current}, not {expected}; reload it and retry"
        super().__init__(message)

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "case": self.case, "expected_version": self.expected,
                "current_version": self.current}


class DuplicatePerson(DomainError):
    """One open hardship case per person across all org units (不误不漏)."""

    code = "duplicate_person"

    def __init__(self, existing_number: str | None) -> None:
        self.existing_number = existing_number
        if existing_number is None:
            super().__init__("another hardship case for this person was opened at the same moment")
        else:
            super().__init__(
                f"this person already has an open hardship case, {existing_number}; "
                "continue that case instead of opening another"
            )

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "existing_case": self.existing_number}
