"""Standard competition ranking: equal points share a rank, the next rank skips (1, 2, 2, 4)."""

from __future__ import annotations


def competition_ranks(points: list[int]) -> list[int]:
    """Ranks for `points` already sorted from highest to lowest."""
    ranks: list[int] = []
    for index, value in enumerate(points):
        ranks.append(ranks[-1] if index and points[index - 1] == value else index + 1)
    return ranks
