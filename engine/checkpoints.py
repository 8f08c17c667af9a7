"""Signed checkpoints of the whole event store: what a case's own hash chain cannot show.

A case's chain (engine/integrity.py) and the case index's head catch an event changed by someone who does not
recompute the hashes after it. An insider with write access to the database can recompute them, delete a whole case,
or cut the store's tail and rebuild the read models. Checkpoints close that gap: every stored event, in recording
order (notification id), is a leaf of one Merkle tree shaped as RFC 9162 (Certificate Transparency) has it; the
tree's root at a size is signed with an Ed25519 key that is never in the database. Any changed, removed, added or
moved event changes the root at every size that covers it, which the signature then no longer fits; an exported
checkpoint kept outside the database also catches a checkpoint table replaced and re-signed with another key.

The tree is built incrementally: its right edge (one hash per level, RFC 9162's compact range) is kept with the size
it covers, so a new checkpoint reads only the events after the last one. Each leaf's hash is kept as it was when a
checkpoint first covered it: once that record is itself checked against the signed roots, the first event that no
longer matches it is named exactly.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import logging
import struct
import threading
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from engine.config import ConfigurationError, Settings
from engine.secret_files import create_private_file, read_private_file
from engine.tables import EVENTS_TABLE, checkpoint_frontier, checkpoint_leaves, checkpoints

if TYPE_CHECKING:
    from engine.service import Casework

KEY_FILE = "checkpoint.key"
FORMAT = "casework-checkpoint/1"
PROOF_FORMAT = "casework-inclusion-proof/1"
PAGE = 2000
FRONTIER = "events"
EMPTY_ROOT = hashlib.sha256(b"").digest()

log = logging.getLogger("casework.checkpoints")


class CheckpointError(ValueError):
    """A checkpoint, proof or key cannot be used as given; the message says why."""


# -- the tree (RFC 9162 section 2.1) ---------------------------------------------------------------------------


def leaf_bytes(originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    """The canonical encoding of one stored event: its case id, version, topic and stored bytes, each of a fixed or
    prefixed length, so that no two different events encode alike."""
    topic_bytes = topic.encode("utf-8")
    return b"".join(
        (
            originator_id.bytes,
            struct.pack(">q", version),
            struct.pack(">I", len(topic_bytes)),
            topic_bytes,
            struct.pack(">Q", len(state)),
            state,
        )
    )


def leaf_hash(originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf_bytes(originator_id, version, topic, state)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Frontier:
    """The right edge of a tree of `size` leaves: the roots of its perfect subtrees, largest first."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != bin(size).count("1"):
            raise CheckpointError(f"the stored frontier does not fit a tree of {size} leaves")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> None:
        node = leaf
        size = self.size
        while size & 1:  # each set low bit is a perfect subtree the new one completes
            node = node_hash(self.hashes.pop(), node)
            size >>= 1
        self.hashes.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        node = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            node = node_hash(left, node)
        return node


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class Tree:
    """Every perfect subtree's hash over a list of leaf hashes, so any range's hash, audit path or consistency proof
    takes a logarithmic number of look-ups."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.levels: list[Sequence[bytes]] = [leaves]
        level = leaves
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            self.levels.append(level)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]); `start` is aligned to the size of the range's largest perfect subtree."""
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0:
            return self.levels[n.bit_length() - 1][start // n]
        k = _split(n)
        return node_hash(self.hash(start, start + k), self.hash(start + k, end))

    def root(self, size: int) -> bytes:
        return self.hash(0, size)

    def audit_path(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[0:size]) (RFC 9162 2.1.3.1)."""
        path: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            k = _split(end - start)
            if index - start < k:
                path.append(self.hash(start + k, end))
                end = start + k
            else:
                path.append(self.hash(start, start + k))
                start += k
        return path[::-1]

    def consistency(self, old: int, new: int) -> list[bytes]:
        """PROOF(old, D[0:new]) (RFC 9162 2.1.4.1)."""
        if old == 0 or old == new:
            return []
        path: list[bytes] = []
        start, end, m, complete = 0, new, old, True
        while m != end - start:
            k = _split(end - start)
            if m <= k:
                path.append(self.hash(start + k, end))
                end = start + k
            else:
                path.append(self.hash(start, start + k))
                start, m, complete = start + k, m - k, False
        if not complete:
            path.append(self.hash(start, end))
        return path[::-1]


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2: the tree of `old` leaves is a prefix of the tree of `new` leaves."""
    if old > new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


# -- the signing key -----------------------------------------------------------------------------------------------


def key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(public)).hexdigest()[:16]


def raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_from_text(value: str) -> Ed25519PublicKey:
    """A public key as exported: base64 of its 32 bytes, or PEM."""
    value = value.strip()
    try:
        if value.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(value.encode("ascii"))
            if not isinstance(key, Ed25519PublicKey):
                raise CheckpointError("the public key is not an Ed25519 key")
            return key
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error, UnicodeEncodeError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError("the public key is neither base64 of 32 bytes nor an Ed25519 PEM key") from e


def _private_from_text(value: str, where: str) -> Ed25519PrivateKey:
    value = value.strip()
    try:
        if value.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(value.encode("ascii"), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ConfigurationError(f"CASEWORK_CHECKPOINT_KEY: {where} is not an Ed25519 key")
            return key
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(value, validate=True))
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError) as e:
        if isinstance(e, ConfigurationError):
            raise
        raise ConfigurationError(
            f"CASEWORK_CHECKPOINT_KEY: {where} is neither base64 of a 32-byte Ed25519 key nor an Ed25519 PEM key"
        ) from e


class CheckpointKey:
    """The installation's signing key, read (or made) on first use; never stored in the database."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._key: Ed25519PrivateKey | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.settings.data_dir / KEY_FILE

    @property
    def private(self) -> Ed25519PrivateKey:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = self._load()
        return self._key

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def _load(self) -> Ed25519PrivateKey:
        if self.settings.checkpoint_key is not None:
            return _private_from_text(self.settings.checkpoint_key, "the value")
        try:
            return self._read(self.path)
        except FileNotFoundError:
            return self._create(self.path)

    @staticmethod
    def _read(path: Path) -> Ed25519PrivateKey:
        return _private_from_text(read_private_file(path, "CASEWORK_CHECKPOINT_KEY"), str(path))

    @staticmethod
    def _create(path: Path) -> Ed25519PrivateKey:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        if not create_private_file(path, "CASEWORK_CHECKPOINT_KEY", pem):
            return CheckpointKey._read(path)  # another process made it first
        log.warning("generated the checkpoint signing key %s: back it up outside the database", path)
        return key


# -- checkpoints ---------------------------------------------------------------------------------------------------


def signed_message(tree_size: int, root_hash: str, created_at: str) -> bytes:
    """What a checkpoint's signature covers."""
    return f"{FORMAT}\n{tree_size}\n{root_hash}\n{created_at}\n".encode("ascii")


@dataclass(frozen=True)
class Checkpoint:
    id: int | None
    tree_size: int
    root_hash: str
    created_at: str
    signature: str
    key_id: str
    public_key: str

    def export(self) -> dict[str, Any]:
        """The checkpoint as a file to keep outside the database."""
        return {
            "format": FORMAT,
            "id": self.id,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "created_at": self.created_at,
            "key_id": self.key_id,
            "public_key": self.public_key,
            "signature": self.signature,
        }

    @classmethod
    def from_export(cls, data: Any) -> Checkpoint:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CheckpointError(f"not an exported checkpoint (no format {FORMAT!r})")
        try:
            checkpoint = cls(
                id=data.get("id"),
                tree_size=int(data["tree_size"]),
                root_hash=str(data["root_hash"]),
                created_at=str(data["created_at"]),
                signature=str(data["signature"]),
                key_id=str(data["key_id"]),
                public_key=str(data["public_key"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"the exported checkpoint lacks or garbles {e}") from e
        return checkpoint

    def signature_problem(self, pinned: Ed25519PublicKey | None = None) -> str | None:
        """What is wrong with the signature (None: it is good), against its own key and, if given, the pinned one."""
        try:
            public = public_key_from_text(self.public_key)
        except CheckpointError as e:
            return str(e)
        if key_id(public) != self.key_id:
            return "its key id is not its public key's"
        if pinned is not None and raw_public(pinned) != raw_public(public):
            return f"signed with key {self.key_id}, not the trusted key {key_id(pinned)}"
        try:
            public.verify(
                base64.b64decode(self.signature, validate=True),
                signed_message(self.tree_size, self.root_hash, self.created_at),
            )
        except (InvalidSignature, binascii.Error, ValueError):
            return "its signature does not verify"
        return None


def _checkpoint(row: Any) -> Checkpoint:
    return Checkpoint(
        row.id, int(row.tree_size), row.root_hash, row.created_at, row.signature, row.key_id, row.public_key
    )


def list_checkpoints(session: Session) -> list[Checkpoint]:
    return [_checkpoint(r) for r in session.execute(select(checkpoints).order_by(checkpoints.c.id))]


def get_checkpoint(session: Session, checkpoint_id: int | None = None) -> Checkpoint | None:
    """The checkpoint `checkpoint_id`, or the latest one."""
    query = select(checkpoints)
    query = (
        query.where(checkpoints.c.id == checkpoint_id)
        if checkpoint_id is not None
        else query.order_by(checkpoints.c.id.desc()).limit(1)
    )
    row = session.execute(query).one_or_none()
    return None if row is None else _checkpoint(row)


def _uuid(value: Any) -> UUID:
    if isinstance(value, UUID):
        return value
    return UUID(bytes=bytes(value)) if isinstance(value, (bytes, memoryview)) else UUID(str(value))


@dataclass(frozen=True)
class StoredRow:
    notification_id: int
    originator_id: UUID
    version: int
    topic: str
    state: bytes

    @property
    def leaf(self) -> bytes:
        return leaf_hash(self.originator_id, self.version, self.topic, self.state)


def stored_events(engine: Engine, after: int = 0, page: int = PAGE) -> Iterator[StoredRow]:
    """Every stored event after notification `after`, in recording order, as stored (never decrypted), a page of
    rows per short read transaction."""
    query = text(
        f"select id, originator_id, originator_version, topic, state from {EVENTS_TABLE} "
        "where id > :after order by id limit :limit"
    )
    while True:
        with engine.connect() as connection:
            rows = connection.execute(query, {"after": after, "limit": page}).all()
        if not rows:
            return
        for r in rows:
            yield StoredRow(int(r.id), _uuid(r.originator_id), int(r.originator_version), r.topic, bytes(r.state))
        after = int(rows[-1].id)


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_checkpoint(
    engine: Engine, key: CheckpointKey, *, now: Callable[[], str] = _now_text, page: int = PAGE
) -> tuple[Checkpoint, int]:
    """Sign the tree over every event stored so far; returns the checkpoint and how many events it added.

    One transaction: the stored right edge is read (locked on PostgreSQL, so two runs do not both extend it), only
    the events after it are read, their leaves appended and recorded, and the new edge and the signed root written.
    """
    private = key.private
    public = private.public_key()
    with Session(engine) as session, session.begin():
        query = select(checkpoint_frontier).where(checkpoint_frontier.c.name == FRONTIER)
        if engine.dialect.name == "postgresql":
            query = query.with_for_update()
        row = session.execute(query).one_or_none()
        if row is None:
            frontier, last, known = Frontier(), 0, False
        else:
            hashes = [bytes.fromhex(h) for h in row.hashes.split()]
            frontier, last, known = Frontier(int(row.tree_size), hashes), int(row.last_notification_id), True
        added = 0
        batch: list[dict[str, Any]] = []
        for event in _events_in(session, last, page):
            batch.append(
                {
                    "position": frontier.size,
                    "notification_id": event.notification_id,
                    "originator_id": event.originator_id,
                    "originator_version": event.version,
                    "leaf_hash": event.leaf.hex(),
                }
            )
            frontier.append(event.leaf)
            last = event.notification_id
            added += 1
            if len(batch) >= page:
                session.execute(checkpoint_leaves.insert(), batch)
                batch = []
        if batch:
            session.execute(checkpoint_leaves.insert(), batch)
        edge = {
            "tree_size": frontier.size,
            "last_notification_id": last,
            "hashes": " ".join(h.hex() for h in frontier.hashes),
        }
        if known:
            session.execute(checkpoint_frontier.update().where(checkpoint_frontier.c.name == FRONTIER).values(**edge))
        else:
            session.execute(checkpoint_frontier.insert().values(name=FRONTIER, **edge))
        root = frontier.root().hex()
        created_at = now()
        signature = base64.b64encode(private.sign(signed_message(frontier.size, root, created_at))).decode("ascii")
        made = Checkpoint(
            id=None,
            tree_size=frontier.size,
            root_hash=root,
            created_at=created_at,
            signature=signature,
            key_id=key_id(public),
            public_key=base64.b64encode(raw_public(public)).decode("ascii"),
        )
        values = dataclasses.asdict(made)
        del values["id"]
        new_id = session.execute(checkpoints.insert().values(**values).returning(checkpoints.c.id)).scalar_one()
        return dataclasses.replace(made, id=int(new_id)), added


def _events_in(session: Session, after: int, page: int) -> Iterator[StoredRow]:
    """As stored_events, inside the checkpoint's own transaction."""
    query = text(
        f"select id, originator_id, originator_version, topic, state from {EVENTS_TABLE} "
        "where id > :after order by id limit :limit"
    )
    while True:
        rows = session.execute(query, {"after": after, "limit": page}).all()
        if not rows:
            return
        for r in rows:
            yield StoredRow(int(r.id), _uuid(r.originator_id), int(r.originator_version), r.topic, bytes(r.state))
        after = int(rows[-1].id)


# -- verification --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRef:
    """One event, as the store now has it or as the checkpoints recorded it."""

    position: int
    notification_id: int
    case_id: UUID
    version: int
    number: str | None = None

    def __str__(self) -> str:
        case = f"{self.number} (id {self.case_id})" if self.number else str(self.case_id)
        return f"case {case} event v{self.version} (notification {self.notification_id}, leaf {self.position})"


@dataclass(frozen=True)
class CheckpointVerification:
    checkpoints: int
    events: int
    """Events stored now."""
    problems: list[str]
    first_bad_checkpoint: int | None = None
    first_changed: EventRef | None = None
    """The first event the recorded leaves no longer match, as recorded: what was changed, removed or moved."""
    found_instead: EventRef | None = None
    """What the store now has in that place (None: nothing, the store ends before it)."""
    against: str | None = None
    """What the checkpoint given from outside showed (None: none was given)."""

    @property
    def ok(self) -> bool:
        return not self.problems


def _trusted_leaves(session: Session) -> list[tuple[int, UUID, int, bytes]]:
    rows = session.execute(
        select(
            checkpoint_leaves.c.notification_id,
            checkpoint_leaves.c.originator_id,
            checkpoint_leaves.c.originator_version,
            checkpoint_leaves.c.leaf_hash,
        ).order_by(checkpoint_leaves.c.position)
    )
    return [(int(n), _uuid(o), int(v), bytes.fromhex(h)) for n, o, v, h in rows]


def verify_checkpoints(
    engine: Engine,
    *,
    pinned: Ed25519PublicKey | None = None,
    against: Checkpoint | None = None,
    number_of: Callable[[UUID], str | None] | None = None,
) -> CheckpointVerification:
    """Recompute the tree from the stored events and hold every checkpoint to it.

    For each checkpoint, in order: its signature (and, with `pinned`, that the trusted key made it), that the root
    recomputed at its size is its root, and that its tree is a prefix of the next one's (a consistency proof over
    the recorded leaves, checked against both signed roots). The first event that no longer matches the recorded
    leaves is named, where those leaves themselves agree with the signed roots. `against` is a checkpoint exported
    earlier and kept outside the database: its own signature, its root against the events, and its tree against the
    stored checkpoints' (a replaced checkpoint table, re-signed with a new key, fails here)."""
    problems: list[str] = []
    with Session(engine) as session:
        stored = list_checkpoints(session)
        recorded = _trusted_leaves(session)
    bad: int | None = None

    def fail(checkpoint: Checkpoint | None, problem: str) -> None:
        nonlocal bad
        if checkpoint is not None and bad is None:
            bad = checkpoint.id
        problems.append(f"checkpoint {checkpoint.id}: {problem}" if checkpoint is not None else problem)

    for checkpoint in stored:
        problem = checkpoint.signature_problem(pinned)
        if problem:
            fail(checkpoint, problem)

    # The events as stored now: one pass, the tree's edge kept, each root taken at a checkpoint's size.
    sizes = sorted({c.tree_size for c in stored} | ({against.tree_size} if against else set()))
    roots: dict[int, bytes] = {}
    frontier = Frontier()
    first_changed: EventRef | None = None
    found_instead: EventRef | None = None
    wanted = iter(sizes)
    next_size = next(wanted, None)
    while next_size == 0:
        roots[0] = EMPTY_ROOT
        next_size = next(wanted, None)
    for event in stored_events(engine):
        position = frontier.size
        leaf = event.leaf
        if first_changed is None and position < len(recorded) and recorded[position][3] != leaf:
            n, case_id, version, _ = recorded[position]
            first_changed = EventRef(position, n, case_id, version)
            found_instead = EventRef(position, event.notification_id, event.originator_id, event.version)
        frontier.append(leaf)
        if frontier.size == next_size:
            roots[next_size] = frontier.root()
            next_size = next(wanted, None)
    count = frontier.size
    if first_changed is None and count < len(recorded):
        n, case_id, version, _ = recorded[count]
        first_changed = EventRef(count, n, case_id, version)

    # The recorded leaves, checked against the signed roots before they are trusted to name anything.
    tree = Tree([leaf for *_, leaf in recorded])
    record_trusted = True
    for checkpoint in stored:
        if checkpoint.tree_size > tree.size or tree.root(checkpoint.tree_size).hex() != checkpoint.root_hash:
            record_trusted = False
    for checkpoint in stored:
        if checkpoint.tree_size > count:
            fail(
                checkpoint,
                f"covers {checkpoint.tree_size} events but the store has {count}: events were removed",
            )
        elif roots[checkpoint.tree_size].hex() != checkpoint.root_hash:
            fail(
                checkpoint,
                f"the events it covers no longer give its root: an event among the first {checkpoint.tree_size} "
                "was changed, removed, added or moved",
            )
    for older, newer in zip(stored, stored[1:], strict=False):
        proved = (
            older.tree_size <= newer.tree_size
            and newer.tree_size <= tree.size
            and verify_consistency(
                older.tree_size,
                newer.tree_size,
                bytes.fromhex(older.root_hash),
                bytes.fromhex(newer.root_hash),
                tree.consistency(older.tree_size, newer.tree_size),
            )
        )
        if not proved:
            fail(newer, f"its tree does not extend checkpoint {older.id}'s (no consistency proof)")

    against_text: str | None = None
    if against is not None:
        problem = against.signature_problem(pinned)
        if problem:
            problems.append(f"the exported checkpoint: {problem}")
        elif against.tree_size > count:
            problems.append(
                f"the exported checkpoint covers {against.tree_size} events but the store has {count}: "
                "events were removed"
            )
        elif roots[against.tree_size].hex() != against.root_hash:
            problems.append(
                f"the exported checkpoint's root is not the events' root at size {against.tree_size}: an event it "
                "covers was changed, removed, added or moved"
            )
        matching = [c for c in stored if c.tree_size >= against.tree_size]
        if not problem and matching:
            newer = matching[0]
            proof = tree.consistency(against.tree_size, newer.tree_size) if newer.tree_size <= tree.size else None
            if newer.key_id != against.key_id:
                fail(newer, f"signed with key {newer.key_id}, not key {against.key_id} of the exported checkpoint")
            elif proof is None or not verify_consistency(
                against.tree_size,
                newer.tree_size,
                bytes.fromhex(against.root_hash),
                bytes.fromhex(newer.root_hash),
                proof,
            ):
                fail(newer, "its tree does not extend the exported checkpoint's: the checkpoints were replaced")
        elif not problem and not matching:
            problems.append(
                f"no stored checkpoint covers the exported one ({against.tree_size} events): checkpoints were removed"
            )
        against_text = f"exported checkpoint {against.id} ({against.tree_size} events, key {against.key_id})"

    if not problems:
        first_changed = found_instead = None
    elif first_changed is not None and not record_trusted:
        problems.append("the recorded leaves do not agree with the signed roots either: the event named may be wrong")
    if number_of is not None:
        if first_changed is not None:
            first_changed = _with_number(first_changed, number_of)
        if found_instead is not None:
            found_instead = _with_number(found_instead, number_of)
    if first_changed is not None:
        instead = f"; the store now has {found_instead} there" if found_instead else "; the store now ends before it"
        problems.insert(0, f"first event that no longer matches: {first_changed}{instead}")
    return CheckpointVerification(len(stored), count, problems, bad, first_changed, found_instead, against_text)


def _with_number(ref: EventRef, number_of: Callable[[UUID], str | None]) -> EventRef:
    return EventRef(ref.position, ref.notification_id, ref.case_id, ref.version, number_of(ref.case_id))


# -- inclusion proofs ----------------------------------------------------------------------------------------------


def prove_event(engine: Engine, case_id: UUID, version: int, checkpoint_id: int | None = None) -> dict[str, Any]:
    """An inclusion proof of one event in a checkpoint (the latest that covers it, unless named): the event as
    stored, its leaf's audit path and the exported checkpoint, so that `check_proof` needs nothing else."""
    with Session(engine) as session:
        found = session.execute(
            select(checkpoint_leaves.c.position, checkpoint_leaves.c.notification_id).where(
                checkpoint_leaves.c.originator_id == case_id, checkpoint_leaves.c.originator_version == version
            )
        ).one_or_none()
        if found is None:
            raise CheckpointError(f"no checkpoint covers version {version} of that case yet")
        position, notification_id = int(found.position), int(found.notification_id)
        checkpoint = get_checkpoint(session, checkpoint_id)
        if checkpoint is None or checkpoint.tree_size <= position:
            raise CheckpointError(f"the checkpoint does not cover version {version} of that case")
        leaves = [
            bytes.fromhex(h)
            for h in session.execute(
                select(checkpoint_leaves.c.leaf_hash)
                .where(checkpoint_leaves.c.position < checkpoint.tree_size)
                .order_by(checkpoint_leaves.c.position)
            ).scalars()
        ]
        row = session.execute(
            text(f"select id, originator_id, originator_version, topic, state from {EVENTS_TABLE} where id = :i"),
            {"i": notification_id},
        ).one_or_none()
    if row is None:
        raise CheckpointError(f"version {version} of that case is no longer in the event store")
    event = StoredRow(int(row.id), _uuid(row.originator_id), int(row.originator_version), row.topic, bytes(row.state))
    tree = Tree(leaves)
    if tree.root(checkpoint.tree_size).hex() != checkpoint.root_hash or leaves[position] != event.leaf:
        raise CheckpointError("the event no longer matches the checkpoint: run `casework checkpoint verify`")
    return {
        "format": PROOF_FORMAT,
        "event": {
            "originator_id": str(event.originator_id),
            "originator_version": event.version,
            "topic": event.topic,
            "state": base64.b64encode(event.state).decode("ascii"),
        },
        "leaf_index": position,
        "audit_path": [h.hex() for h in tree.audit_path(position, checkpoint.tree_size)],
        "checkpoint": checkpoint.export(),
    }


def check_proof(
    proof: Any, *, checkpoint: Checkpoint | None = None, public_key: Ed25519PublicKey | None = None
) -> Checkpoint:
    """Check an inclusion proof on its own: the event's leaf, its audit path to the checkpoint's root, and the
    checkpoint's signature (by `public_key` when given). `checkpoint`, when given (kept separately), must be the one
    the proof names. Returns the checkpoint; raises CheckpointError saying what fails."""
    if not isinstance(proof, dict) or proof.get("format") != PROOF_FORMAT:
        raise CheckpointError(f"not an inclusion proof (no format {PROOF_FORMAT!r})")
    named = Checkpoint.from_export(proof.get("checkpoint"))
    if checkpoint is not None and (checkpoint.tree_size, checkpoint.root_hash, checkpoint.key_id) != (
        named.tree_size,
        named.root_hash,
        named.key_id,
    ):
        if checkpoint.tree_size == named.tree_size:
            raise CheckpointError("the proof's checkpoint is not the checkpoint given: its root differs")
        raise CheckpointError("the proof is for another checkpoint than the one given")
    problem = named.signature_problem(public_key)
    if problem:
        raise CheckpointError(f"the checkpoint: {problem}")
    try:
        event = proof["event"]
        leaf = leaf_hash(
            UUID(event["originator_id"]),
            int(event["originator_version"]),
            str(event["topic"]),
            base64.b64decode(event["state"], validate=True),
        )
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        index = int(proof["leaf_index"])
    except (KeyError, TypeError, ValueError, binascii.Error) as e:
        raise CheckpointError(f"the proof lacks or garbles {e}") from e
    if not verify_inclusion(leaf, index, named.tree_size, path, bytes.fromhex(named.root_hash)):
        raise CheckpointError(
            f"the event (version {event['originator_version']}) is not in the checkpoint's tree as given: "
            "it was changed, or the proof does not belong to it"
        )
    return named


def read_json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CheckpointError(f"cannot read {path} ({e.strerror})") from e
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} is not JSON") from e


def send_to_webhook(url: str, export: dict[str, Any], timeout: float = 10.0) -> bool:
    """POST a new checkpoint's export to `url`, so a copy lives outside the database; a failure is logged, never
    raised: the checkpoint is made whether or not the receiver takes it."""
    body = json.dumps(export).encode("utf-8")
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if 200 <= response.status < 300:
                return True
            log.warning("checkpoint webhook %s answered %s", url, response.status)
    except Exception as e:
        log.warning("checkpoint webhook %s failed: %s", url, e)
    return False


def installation_public_key(settings: Settings) -> Ed25519PublicKey | None:
    """The installation's checkpoint key's public half, if it has one (set, or its file made): the key a
    verification on this machine trusts; None makes none."""
    if settings.checkpoint_key is None and not (settings.data_dir / KEY_FILE).exists():
        return None
    return CheckpointKey(settings).public


# -- what the command line, the API and the flow call ---------------------------------------------------------------


@dataclass(frozen=True)
class Made:
    checkpoint: Checkpoint
    added: int
    """Events the checkpoint read (those after the previous one)."""
    sent: bool | None
    """Whether CASEWORK_CHECKPOINT_WEBHOOK took the export (None: no webhook is set)."""


def make_checkpoint(cw: Casework) -> Made:
    """Sign the store as it now is, and send the export to the webhook if one is set (a failure is only logged)."""
    checkpoint, added = create_checkpoint(cw.sql_engine, CheckpointKey(cw.settings))
    url = cw.settings.checkpoint_webhook
    sent = send_to_webhook(url, checkpoint.export()) if url else None
    return Made(checkpoint, added, sent)


def verify_store_checkpoints(
    cw: Casework, *, against: Checkpoint | None = None, public_key: Ed25519PublicKey | None = None
) -> CheckpointVerification:
    """verify_checkpoints on the service's store, trusting `public_key` or else the installation's own key."""
    pinned = public_key if public_key is not None else installation_public_key(cw.settings)
    return verify_checkpoints(cw.sql_engine, pinned=pinned, against=against, number_of=cw.store.case_number)


def checkpoints_of(cw: Casework) -> list[Checkpoint]:
    with cw.read_transaction() as session:
        return list_checkpoints(session)


def checkpoint_export(cw: Casework, checkpoint_id: int | None = None) -> dict[str, Any]:
    """The export of checkpoint `checkpoint_id` (None: the latest); CheckpointError when there is none."""
    found = None
    if checkpoint_id is None or 0 < checkpoint_id < 2**31:  # the id column's range: anything else names none
        with cw.read_transaction() as session:
            found = get_checkpoint(session, checkpoint_id)
    if found is None:
        raise CheckpointError(
            "no checkpoint has been made yet" if checkpoint_id is None else f"no checkpoint {checkpoint_id}"
        )
    return found.export()
