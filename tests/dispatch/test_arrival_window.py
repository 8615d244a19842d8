"""The arrival window promised at booking (dispatch/scheduling/windows.py)."""

from datetime import UTC, datetime

from dispatch.scheduling.windows import arrival_window


def at(h: int, m: int) -> datetime:
    return datetime(2026, 3, 3, h, m, tzinfo=UTC)


def test_the_window_is_two_hours_on_the_half_hour_with_the_start_in_its_first_half():
    assert arrival_window(at(9, 0)) == (at(8, 30), at(10, 30))
    assert arrival_window(at(10, 10)) == (at(9, 30), at(11, 30))
    assert arrival_window(at(10, 10), minutes=60) == (at(9, 30), at(10, 30))


def test_the_window_never_opens_before_the_booking():
    assert arrival_window(at(10, 40), not_before=at(9, 35)) == (at(10, 0), at(12, 0))
    assert arrival_window(at(9, 45), not_before=at(9, 30)) == (at(9, 30), at(11, 30))
    # booked at 09:35 for 09:40: the window opens at the start itself, not at 09:30
    assert arrival_window(at(9, 40), not_before=at(9, 35)) == (at(9, 40), at(11, 40))


def test_the_planned_start_always_lies_inside():
    for minute in range(0, 24 * 60, 7):
        start = at(minute // 60, minute % 60)
        for not_before in (None, at(0, 0), start):
            ws, we = arrival_window(start, not_before=not_before)
            assert ws <= start < we
            assert not_before is None or ws >= not_before
