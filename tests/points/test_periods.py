"""Months, working days and ranks: pure logic of points-svc."""

from __future__ import annotations

from datetime import UTC, date, datetime

from points_svc.periods import add_working_days, months_of, objection_deadline
from points_svc.ranking import competition_ranks
from shared.local_time import current_period, next_period, period_of


def test_months_are_counted_in_shanghai():
    assert period_of(date(2026, 3, 31)) == "2026-03"
    # 16:30 UTC on 31 March is already 1 April in Asia/Shanghai.
    assert current_period(datetime(2026, 3, 31, 16, 30, tzinfo=UTC)) == "2026-04"
    assert next_period("2026-12") == "2027-01" and next_period("2026-01") == "2026-02"
    assert months_of("2026-Q2") == ["2026-04", "2026-05", "2026-06"]
    assert len(months_of("2026")) == 12


def test_working_days_skip_weekends():
    friday = date(2026, 5, 8)
    assert add_working_days(friday, 1) == date(2026, 5, 11)
    assert add_working_days(friday, 5) == date(2026, 5, 15)


def test_objection_deadline_is_local_midnight_after_the_last_working_day():
    opened = datetime(2026, 5, 8, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai
    # Five working days: Mon 11 – Fri 15; the window ends at midnight Shanghai, 16:00 UTC on the 15th.
    assert objection_deadline(opened, 5) == datetime(2026, 5, 15, 16, 0, tzinfo=UTC)
    assert objection_deadline(opened, 0) == opened


def test_competition_ranks_share_equal_points():
    assert competition_ranks([9, 7, 7, 3, 3, 3, 1]) == [1, 2, 2, 4, 4, 4, 7]
    assert competition_ranks([]) == []
