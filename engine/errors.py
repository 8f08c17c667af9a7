"""Engine errors: what went wrong with a command beyond the domain's own refusals."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from aggregates.errors import DomainError


class NotFound(DomainError):
    """Something the caller named (a case, a version of it, a user, a campaign) does not exist, or not for them."""

    code = "not_found"


class CaseNotFound(NotFound):
    def __init__(self, ref: UUID | str) -> None:
        self.ref = ref
        super().__init__(f"no case {ref}")


class NoSuchVersion(CaseNotFound):
    """A version of a case that was never recorded (versions count from 1 to the case's current one)."""

    def __init__(self, case: str, version: int, current: int | None) -> None:
        self.case, self.version, self.current = case, version, current
        DomainError.__init__(
            self,
            f"{case} has no version {version}"
            + (f"; it is at version {current}" if current is not None else "; versions start at 1"),
        )
        self.ref = case

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "current_version": self.current}


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
        return {
            **super().to_dict(),
            "case": self.case,
            "expected_version": self.expected,
            "current_version": self.current,
        }


class CaseIntegrityError(DomainError):
    """A case's stored events fail their hash chain: an event was removed, reordered or altered.

    Nothing is read from such a case and nothing is recorded on it: a command on a shortened or
    altered history would build on a state nobody recorded."""

    code = "broken_chain"

    def __init__(self, case_id: UUID, number: str | None, version: int, problem: str) -> None:
        self.case_id, self.number, self.version, self.problem = case_id, number, version, problem
        super().__init__(
            f"case {number or case_id} cannot be read: its hash chain is broken at version {version} ({problem}); "
            "nothing can be read from it or recorded on it until its events are restored"
        )

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "case": self.number or str(self.case_id), "version": self.version}


class DuplicatePerson(DomainError):
    """One open hardship case per person across all org units (不误不漏).

    The message names neither the other case nor its union: the caller may not be allowed to see
    them. `existing_number` and `existing_org_unit` are for an adapter that knows what its caller sees."""

    code = "duplicate_person"

    def __init__(self, existing_number: str | None, existing_org_unit: str | None = None) -> None:
        self.existing_number, self.existing_org_unit = existing_number, existing_org_unit
        if existing_number is None:
            super().__init__("another hardship case for this person was opened at the same moment")
        else:
            super().__init__(
                "this person already has an open hardship case in another union or unit; "
                "a person is registered once (不误不漏)"
            )

    def told_to(self, sees: Callable[[str], bool]) -> tuple[str, dict[str, str]]:
        """The message and details for a caller who sees the units `sees` admits: the case only if in sight."""
        if self.existing_number is None or self.existing_org_unit is None or not sees(self.existing_org_unit):
            return str(self), {}
        return (
            f"this person already has an open hardship case, {self.existing_number} "
            f"({self.existing_org_unit}); continue that case instead of opening another",
            {"existing_case": self.existing_number, "existing_org_unit": self.existing_org_unit},
        )


class NothingDue(DomainError):
    """A step the scheduler listed that the case no longer calls for (answered, extended or moved on since)."""

    code = "nothing_due"


class TooManyCases(DomainError):
    """More cases match than one export may hold: the caller narrows the search."""

    code = "too_many_cases"

    def __init__(self, total: int, limit: int) -> None:
        self.total, self.limit = total, limit
        super().__init__(f"{total} cases match; an export holds at most {limit}: narrow the search")

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "total": self.total, "limit": self.limit}


class ErasureRefused(DomainError):
    """An erasure of a person's data that may not run: who asked, or a case of theirs still open."""

    code = "erasure_refused"
