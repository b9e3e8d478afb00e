"""A one-on-one meeting schedule for a matchmaking event (对接会): best pairs first.

Pure and deterministic, so it can be checked on any input: pairs are taken best score first
and each goes to the earliest time slot where neither the enterprise nor the expert is
already meeting someone and a table is free. Nobody is double-booked, no slot has more
meetings than tables, and a pair left out had no such slot when its turn came.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Pair:
    enterprise: Hashable
    expert: Hashable
    score: float
    need: Hashable | None = None


@dataclass(frozen=True)
class Meeting:
    pair: Pair
    slot: int  # 0-based
    table: int  # 1-based, as printed on the table cards


@dataclass
class Schedule:
    meetings: list[Meeting]
    left_out: list[Pair]  # no slot had both free and a table when their turn came


def plan(pairs: Iterable[Pair], slots: int, tables: int) -> Schedule:
    """Greedy by score (ties: the order given), earliest feasible slot, lowest free table."""
    busy: list[set[Hashable]] = [set() for _ in range(slots)]
    used: list[int] = [0] * slots
    meetings, left_out, seen = [], [], set()
    for pair in sorted(pairs, key=lambda p: -p.score):
        key = (pair.enterprise, pair.expert)
        if key in seen:  # one meeting a pair
            continue
        seen.add(key)
        for slot in range(slots):
            if (
                used[slot] < tables
                and ("e", pair.enterprise) not in busy[slot]
                and ("x", pair.expert) not in busy[slot]
            ):
                used[slot] += 1
                busy[slot] |= {("e", pair.enterprise), ("x", pair.expert)}
                meetings.append(Meeting(pair, slot, used[slot]))
                break
        else:
            left_out.append(pair)
    return Schedule(meetings, left_out)
