"""The followed server's deltas over two networks: order, repeats, the reorder window,
gaps; time passed in, no loop."""

from __future__ import annotations

import pytest

from app.model.state import StateDelta
from app.session.sequencing import (
    REORDER_MAX,
    REORDER_WINDOW_S,
    Apply,
    DeltaSequencer,
    Gap,
    Held,
    NotSynchronised,
    Stale,
)


def d(seq: int) -> StateDelta:
    return StateDelta(seq)


def seqs(verdict: object) -> list[int]:
    assert isinstance(verdict, Apply), verdict
    return [x.seq for x in verdict.deltas]


def test_the_window_documented() -> None:
    assert (REORDER_WINDOW_S, REORDER_MAX) == (0.5, 64)  # docs/protocol.md, docs/comms.md


def test_before_a_snapshot_deltas_mean_nothing() -> None:
    sq = DeltaSequencer()
    assert sq.offer(None, d(7), 0.0) == NotSynchronised()
    assert sq.held == {} and sq.deadline is None


def test_the_next_delta_is_applied() -> None:
    assert seqs(DeltaSequencer().offer(4, d(5), 0.0)) == [5]


def test_the_copy_from_the_other_network_is_a_repeat() -> None:
    sq = DeltaSequencer()
    assert seqs(sq.offer(4, d(5), 0.0)) == [5]  # network 1
    assert sq.offer(5, d(5), 0.001) == Stale()  # network 2: the same delta
    assert sq.offer(5, d(3), 0.002) == Stale()  # an old one


def test_a_delta_first_on_the_second_network_then_its_copy_on_the_first() -> None:
    # Network 2 is faster for once: 5 comes on it, then 6 on it; the copies on
    # network 1 follow and are repeats. Nothing is held.
    sq = DeltaSequencer()
    assert seqs(sq.offer(4, d(5), 0.0)) == [5]
    assert seqs(sq.offer(5, d(6), 0.01)) == [6]
    assert sq.offer(6, d(5), 0.02) == Stale()
    assert sq.offer(6, d(6), 0.03) == Stale()
    assert sq.deadline is None


def test_a_gap_filled_within_the_window_applies_both_in_order() -> None:
    sq = DeltaSequencer()
    assert sq.offer(4, d(6), 10.0) == Held(started=True)  # 6 on network 2, 5 lost on it
    assert sq.deadline == pytest.approx(10.5)
    assert seqs(sq.offer(4, d(5), 10.4)) == [5, 6]  # 5 from network 1, in time
    assert sq.held == {} and sq.deadline is None
    assert sq.expire(5, 10.5) is None  # the owner's timer, if it still fires: nothing
    assert sq.offer(6, d(6), 10.6) == Stale()  # 6's copy from network 1


def test_a_gap_past_the_window_is_a_gap() -> None:
    sq = DeltaSequencer()
    assert sq.offer(4, d(6), 10.0) == Held(started=True)
    assert sq.expire(4, 10.49) is None  # a timer firing early changes nothing
    assert sq.deadline == pytest.approx(10.5)
    verdict = sq.expire(4, 10.5)
    assert isinstance(verdict, Gap)
    assert (verdict.gap.expected, verdict.gap.got) == (5, 6)
    assert sq.held == {} and sq.deadline is None
    # 5 arriving late finds the state invalidated by its owner: nothing to do
    assert sq.offer(None, d(5), 10.6) == NotSynchronised()


def test_the_window_starts_with_the_first_held_and_is_not_extended() -> None:
    sq = DeltaSequencer()
    assert sq.offer(4, d(6), 0.0) == Held(started=True)
    assert sq.offer(4, d(8), 0.3) == Held(started=False)  # same window
    assert seqs(sq.offer(4, d(5), 0.4)) == [5, 6]  # 7 still missing: 8 waits on
    assert sorted(sq.held) == [8] and sq.deadline == pytest.approx(0.5)
    verdict = sq.expire(6, 0.5)
    assert isinstance(verdict, Gap) and (verdict.gap.expected, verdict.gap.got) == (7, 8)


def test_copies_of_a_held_delta_are_held_once() -> None:
    sq = DeltaSequencer()
    sq.offer(4, d(6), 0.0)
    assert sq.offer(4, d(6), 0.01) == Held(started=False)
    assert list(sq.held) == [6]
    assert seqs(sq.offer(4, d(5), 0.02)) == [5, 6]


def test_too_many_held_is_a_gap_at_once() -> None:
    sq = DeltaSequencer(max_held=3)
    for seq in (6, 7, 8):
        assert isinstance(sq.offer(4, d(seq), 0.0), Held)
    verdict = sq.offer(4, d(9), 0.0)
    assert isinstance(verdict, Gap) and (verdict.gap.expected, verdict.gap.got) == (5, 9)
    assert sq.held == {} and sq.deadline is None


def test_clear_forgets_what_is_held() -> None:
    sq = DeltaSequencer()
    sq.offer(4, d(6), 0.0)
    sq.clear()
    assert sq.held == {} and sq.deadline is None
    assert sq.expire(4, 1.0) is None


@pytest.mark.parametrize(
    ("state_seq", "snapshot_seq", "news"),
    [
        (None, 0, True),  # not synchronised: any snapshot
        (None, 3, True),
        (10, 9, False),  # older than the state
        (10, 10, False),  # the greeting on the server's other network
        (10, 11, True),
    ],
)
def test_a_snapshot_not_newer_than_the_state_is_ignored(
    state_seq: int | None, snapshot_seq: int, news: bool
) -> None:
    assert DeltaSequencer.snapshot_is_news(state_seq, snapshot_seq) is news
