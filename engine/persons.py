"""The one-open-case-per-person rule: ID numbers keyed with a secret of the installation.

An open hardship case reserves its worker's ID number in `person_reservations` under an HMAC of
the normalised number. The HMAC's key never leaves the engine and is never in the database: it is
given by `CASEWORK_PERSON_KEY` or generated on first use into `<data dir>/person.key` (mode 600).
Without it, a reservation (or a masked number such as `3205**********123X`) cannot be turned back
into the number by trying the few hundred thousand numbers that fit. The database keeps a one-way
fingerprint of the key, so that reservations made under another key (the constant of earlier
releases, or a key the operator changed) are found, and re-keyed by `casework db upgrade`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.config import MIN_PERSON_KEY_LENGTH, ConfigurationError, Settings
from engine.database import upsert
from engine.secret_files import create_private_file, read_private_file
from engine.tables import installation_keys, person_reservations

if TYPE_CHECKING:
    from aggregates.base import Case
    from engine.service import Casework

KEY_FILE = "person.key"
DATA_KEY_FILE = "data.key"
MIN_KEY_LENGTH = MIN_PERSON_KEY_LENGTH
FINGERPRINT_NAME = "person"
_FINGERPRINT_LABEL = b"casework person-key fingerprint v1"

log = logging.getLogger("casework.persons")


class PersonKeyMismatch(ConfigurationError):
    """The reservations were made under another key: the rule would silently stop finding duplicates."""

    def __init__(self) -> None:
        super().__init__(
            "CASEWORK_PERSON_KEY: the one-case-per-person reservations were made with another person key "
            "(set the same CASEWORK_PERSON_KEY on every machine of this installation, or run "
            "`casework db upgrade` to re-key them under this one)"
        )


class InstallationSecret:
    """A secret of the installation that is never in the database: given by a setting (`label`), or read from (or
    made on first use in) a mode-600 file of the data directory."""

    def __init__(self, settings: Settings, label: str, file_name: str, given: str | None) -> None:
        self.settings, self.label, self.file_name, self.given = settings, label, file_name, given
        self._secret: bytes | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.settings.data_dir / self.file_name

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            with self._lock:
                if self._secret is None:
                    self._secret = self._load()
        return self._secret

    # -- the secret ------------------------------------------------------------------

    def _load(self) -> bytes:
        given = self.given
        if given is not None:  # its length was checked with the other settings
            return given.strip().encode("utf-8")
        path = self.path
        try:
            return self._read(path)
        except FileNotFoundError:
            pass
        return self._create(path)

    def _read(self, path: Path) -> bytes:
        text = read_private_file(path, self.label).strip()
        if len(text) < MIN_KEY_LENGTH:
            raise ConfigurationError(
                f"{self.label}: {path} holds no key (shorter than {MIN_KEY_LENGTH} "
                "characters); restore it from a backup"
            )
        return text.encode("ascii")

    def _create(self, path: Path) -> bytes:
        key = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
        if not create_private_file(path, self.label, (key + "\n").encode("ascii")):
            return self._read(path)  # another process made it first
        log.warning("generated %s in %s: back it up with the database", self.label, path)
        return key.encode("ascii")


class PersonKeys(InstallationSecret):
    """Keys ID numbers for the reservation table; the secret is read (or made) on first use."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, "CASEWORK_PERSON_KEY", KEY_FILE, settings.person_key)
        self._checked = False
        self.data_key = InstallationSecret(settings, "CASEWORK_DATA_KEY", DATA_KEY_FILE, settings.data_key)
        """What each person's key for their data in events is wrapped under (engine/sealing.py): a secret of its
        own, so that re-keying the reservations under a new person key leaves that data readable."""

    def key_for(self, identity: str) -> str:
        """The reservation key of a normalised ID number."""
        return hmac.new(self.secret, identity.encode("utf-8"), hashlib.sha256).hexdigest()

    @property
    def fingerprint(self) -> str:
        """Names the key without revealing it (an HMAC of a fixed label, not of any number)."""
        return hmac.new(self.secret, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()

    def check(self, session: Session) -> None:
        """Refuse to use reservations keyed with another key; a store with none takes this key's fingerprint."""
        if self._checked:
            return
        stored = session.execute(
            select(installation_keys.c.fingerprint).where(installation_keys.c.name == FINGERPRINT_NAME)
        ).scalar_one_or_none()
        if stored is None:
            if session.execute(select(person_reservations.c.person_key).limit(1)).first() is not None:
                raise PersonKeyMismatch()  # reserved by a release that keyed with a constant
            self.record_fingerprint(session)
        elif not hmac.compare_digest(stored, self.fingerprint):
            raise PersonKeyMismatch()
        self._checked = True

    def record_fingerprint(self, session: Session) -> None:
        session.execute(
            upsert(installation_keys, ("name",)),
            {"name": FINGERPRINT_NAME, "fingerprint": self.fingerprint, "set_at": datetime.now(UTC)},
        )

    def is_current(self, session: Session) -> bool:
        try:
            self.check(session)
        except PersonKeyMismatch:
            return False
        return True


@dataclass
class Rekeyed:
    """What `rekey` did: reservations rewritten under the current key, and what it could not keep."""

    reservations: int = 0
    person_keys: int = 0
    """Keys of personal data found again by the re-keyed ID number (engine/sealing.py)."""
    problems: list[str] = field(default_factory=list)


def rekey(cw: Casework) -> Rekeyed | None:
    """Rewrite every reservation under the installation's key, in one transaction; None when they already are.

    The number is read back from each reserved case's application; a case whose application cannot be
    read, or a second open case of the same person (possible before ID numbers were normalised), keeps
    no reservation and is named in the report."""
    persons = cw.persons
    with cw.write_transaction() as session:
        if persons.is_current(session):
            return None
        rows = session.execute(
            select(person_reservations.c.case_id, person_reservations.c.number).order_by(person_reservations.c.number)
        ).all()
        report = Rekeyed()
        keyed: dict[str, tuple[object, str]] = {}
        for case_id, number in rows:
            try:
                case: Case = cw.store.repository.get(case_id, version=1)
                identity = str(getattr(case, "person_identity", ""))
            except Exception as e:
                report.problems.append(
                    f"{number}: its application cannot be read ({type(e).__name__}); it keeps no reservation"
                )
                continue
            if not identity:
                report.problems.append(f"{number}: no ID number; it keeps no reservation")
                continue
            key = persons.key_for(identity)
            if key in keyed:
                report.problems.append(
                    f"{number}: a second open case for the person of {keyed[key][1]}; close one of them"
                )
                continue
            keyed[key] = (case_id, number)
        session.execute(delete(person_reservations))
        if keyed:
            session.execute(
                person_reservations.insert(),
                [{"person_key": key, "case_id": case_id, "number": number} for key, (case_id, number) in keyed.items()],
            )
        from engine.sealing import rekey_subjects

        report.person_keys = rekey_subjects(session, persons, lambda case_id: cw.store.repository.get(case_id))
        persons.record_fingerprint(session)
        report.reservations = len(keyed)
    persons._checked = True
    return report
