"""The Merkle tree of the checkpoints against RFC 9162's definitions, computed the slow way."""

from __future__ import annotations

import hashlib

from engine.checkpoints import (
    EMPTY_ROOT,
    Frontier,
    Tree,
    node_hash,
    verify_consistency,
    verify_inclusion,
)


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) as RFC 9162 2.1.1 defines it."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


LEAVES = [hashlib.sha256(b"\x00" + bytes([i])).digest() for i in range(40)]


def test_the_frontier_and_the_tree_give_the_rfc_root_at_every_size() -> None:
    tree = Tree(LEAVES)
    frontier = Frontier()
    for n in range(1, len(LEAVES) + 1):
        frontier.append(LEAVES[n - 1])
        assert frontier.root() == mth(LEAVES[:n]) == tree.root(n)
        again = Frontier(frontier.size, frontier.hashes)  # as read back from its table
        assert again.root() == frontier.root()


def test_every_audit_path_verifies_and_fails_for_another_leaf() -> None:
    tree = Tree(LEAVES)
    for n in range(1, len(LEAVES) + 1):
        root = mth(LEAVES[:n])
        for i in range(n):
            path = tree.audit_path(i, n)
            assert verify_inclusion(LEAVES[i], i, n, path, root)
            assert not verify_inclusion(b"\x11" * 32, i, n, path, root)
            assert not verify_inclusion(LEAVES[i], i + 1, n, path, root) or n == 1


def test_every_consistency_proof_verifies_and_fails_for_a_changed_prefix() -> None:
    tree = Tree(LEAVES)
    for n in range(1, len(LEAVES) + 1):
        for m in range(n + 1):
            assert verify_consistency(m, n, mth(LEAVES[:m]), mth(LEAVES[:n]), tree.consistency(m, n))
            if 0 < m < n:
                changed = list(LEAVES[:n])
                changed[m - 1] = b"\x11" * 32
                proof = Tree(changed).consistency(m, n)
                assert not verify_consistency(m, n, mth(LEAVES[:m]), mth(changed), proof)
