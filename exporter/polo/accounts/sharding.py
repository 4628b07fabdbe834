"""Which replica sweeps an account: rendezvous (highest-random-weight) hashing.

Every replica scores every shard number for an account and the highest score wins, so all
replicas agree without talking to each other. Growing from N to N+1 replicas moves only the
accounts whose new top score belongs to shard N: about 1/(N+1) of them, nothing else moves.
"""
from __future__ import annotations

import hashlib

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15  # spreads consecutive shard numbers over the 64-bit space


def shard_of(account_id: str, total: int) -> int:
    """The shard (0 .. total-1) that owns the account; stable across processes and hosts."""
    base = int.from_bytes(hashlib.blake2b(account_id.encode(), digest_size=8).digest(), "big")
    best, owner = -1, 0
    for shard in range(total):
        # score = SplitMix64's finaliser (a fixed, well-spread permutation) of account ^ shard
        value = base ^ (shard * GOLDEN & MASK)
        value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9 & MASK
        value = (value ^ (value >> 27)) * 0x94D049BB133111EB & MASK
        value ^= value >> 31
        if value > best:
            best, owner = value, shard
    return owner
