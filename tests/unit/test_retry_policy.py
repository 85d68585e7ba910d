"""The retry policy's pause-or-give-up decision, on injected jitter and plain numbers of seconds."""

from __future__ import annotations

import pytest

from backup_copy.oci_gateway import RetryPolicy

PLENTY = 1000.0


def policy(jitter: float) -> RetryPolicy:
    return RetryPolicy(base_delay=0.5, max_delay=8.0, jitter=lambda: jitter)


def test_full_jitter_pauses_double_each_attempt_up_to_the_max_delay() -> None:
    pauses = [policy(1.0).next_pause(attempt, PLENTY, 4.0) for attempt in range(1, 8)]
    assert pauses == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


@pytest.mark.parametrize(("jitter", "pause"), [(0.0, 2.0), (0.5, 3.0), (1.0, 4.0)])
def test_equal_jitter_keeps_at_least_half_the_ceiling(jitter: float, pause: float) -> None:
    # Attempt 4's ceiling is 0.5 * 2**3 = 4 seconds: half fixed, half scaled by the jitter.
    assert policy(jitter).next_pause(4, PLENTY, 4.0) == pause


def test_the_jitter_is_drawn_once_per_decision() -> None:
    draws = iter([0.0, 1.0, 0.25])
    retry = RetryPolicy(base_delay=1.0, max_delay=8.0, jitter=lambda: next(draws))
    assert [retry.next_pause(attempt, PLENTY, 0.0) for attempt in (1, 2, 3)] == [0.5, 2.0, 2.5]


def test_gives_up_when_the_pause_would_eat_into_the_reserve() -> None:
    # Attempt 3 pauses 2 s with full jitter; 5.9 s left less the pause leaves 3.9 s, short of 4 s.
    assert policy(1.0).next_pause(3, 5.9, 4.0) is None


def test_pauses_when_the_reserve_is_left_whole() -> None:
    assert policy(1.0).next_pause(3, 6.0, 4.0) == 2.0


def test_less_jitter_can_leave_room_that_more_would_not() -> None:
    assert policy(0.0).next_pause(3, 5.5, 4.0) == 1.0
    assert policy(1.0).next_pause(3, 5.5, 4.0) is None


def test_with_no_time_left_it_gives_up_even_without_a_reserve() -> None:
    assert policy(0.0).next_pause(1, 0.0, 0.0) is None
