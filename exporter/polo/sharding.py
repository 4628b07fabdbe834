"""Which replica sweeps an account: rendezvous (highest-random-weight) hashing.

Every replica scores every shard number for an account and the highest score wins, so all
replicas agree without talking to each other. Growing from N to N+1 replicas moves only the
accounts whose new top score belongs to shard N: about 1/(N+1) of them, nothing else moves.
"""
from __future__ import annotations

import hashlib


def _score(account_id: str, shard: int) -> int:
    digest = hashlib.blake2b(f"{account_id}/{shard}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def shard_of(account_id: str, total: int) -> int:
    """The shard (0 .. total-1) that owns the account; stable across processes and hosts."""
    return max(range(total), key=lambda shard: _score(account_id, shard))
