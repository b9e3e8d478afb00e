"""The 对接会 schedule: nobody double-booked, tables respected, best pairs first — on any
input (hypothesis) and on a small case worked by hand."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from crm.events.schedule import Pair, plan

pairs_strategy = st.lists(
    st.builds(
        Pair,
        enterprise=st.integers(0, 8),
        expert=st.integers(0, 8),
        score=st.floats(0, 10, allow_nan=False),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(pairs=pairs_strategy, slots=st.integers(0, 6), tables=st.integers(0, 5))
def test_no_double_booking_tables_respected_and_nothing_missed(pairs, slots, tables):
    schedule = plan(pairs, slots, tables)
    by_slot = Counter(m.slot for m in schedule.meetings)
    assert all(0 <= m.slot < slots for m in schedule.meetings)
    assert all(n <= tables for n in by_slot.values())
    for slot in by_slot:
        here = [m for m in schedule.meetings if m.slot == slot]
        assert len({m.pair.enterprise for m in here}) == len(here)  # nobody twice at once
        assert len({m.pair.expert for m in here}) == len(here)
        assert sorted(m.table for m in here) == list(range(1, len(here) + 1))
    met = [(m.pair.enterprise, m.pair.expert) for m in schedule.meetings]
    assert len(met) == len(set(met))  # a pair meets once
    assert set(met) | {(p.enterprise, p.expert) for p in schedule.left_out} == {
        (p.enterprise, p.expert) for p in pairs
    }
    for pair in schedule.left_out:  # left out only when every slot was closed to it
        for slot in range(slots):
            here = [m for m in schedule.meetings if m.slot == slot]
            assert (
                len(here) >= tables
                or any(m.pair.enterprise == pair.enterprise for m in here)
                or any(m.pair.expert == pair.expert for m in here)
            )
    if schedule.meetings:
        best = max(pairs, key=lambda p: p.score).score
        assert any(m.slot == 0 and m.pair.score == best for m in schedule.meetings)


def test_a_small_event_worked_by_hand():
    pairs = [
        Pair("领带厂", "纺织专家", 9.0),
        Pair("电机厂", "电机专家", 8.0),
        Pair("领带厂", "染色专家", 7.0),  # 领带厂 busy in slot 0 → slot 1
        Pair("电机厂", "纺织专家", 1.0),  # both busy in slot 0; slot 1: table 2
        Pair("茶厂", "茶叶专家", 0.5),  # slot 0 has 2 tables taken → slot 1 full → slot 2
    ]
    schedule = plan(pairs, slots=3, tables=2)
    placed = {(m.pair.enterprise, m.pair.expert): (m.slot, m.table) for m in schedule.meetings}
    assert placed == {
        ("领带厂", "纺织专家"): (0, 1),
        ("电机厂", "电机专家"): (0, 2),
        ("领带厂", "染色专家"): (1, 1),
        ("电机厂", "纺织专家"): (1, 2),
        ("茶厂", "茶叶专家"): (2, 1),
    }
    assert plan(pairs, slots=1, tables=2).left_out == pairs[2:]
