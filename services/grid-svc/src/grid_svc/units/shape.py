"""The tree's shape, held still while a write copies a unit's path and changed by a move alone.

A move rewrites the path of every unit, household and tally in a subtree in a few statements. A write that reads a
unit's path to store it (a new unit under its parent, a household in its micro grid, a person, an assignment, a
link, a party member, the counts under the ancestors) while a move is under way would store the path from before
the move, and a move would miss a row committed after its statements began: the row would be outside its subtree for
good, and outside the scope of the units above it.

On PostgreSQL a transaction-level advisory lock keeps the two apart: such writes hold it shared (they never wait on
each other), a move holds it alone. Each is taken before its transaction reads a path (or loads a record that carries
one): at READ COMMITTED every later statement then sees what the other committed. Moves are rare, so a write waits at
most for one move. SQLite runs one write transaction at a time, so nothing is taken there.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The lock's key in grid-svc's own database ("gridtree" in ASCII): any fixed number no other lock of this
# database uses.
TREE_SHAPE_KEY = 0x6772_6964_7472_6565
_SHARED = text(f"SELECT pg_advisory_xact_lock_shared({TREE_SHAPE_KEY})")
_ALONE = text(f"SELECT pg_advisory_xact_lock({TREE_SHAPE_KEY})")


async def keep_tree_shape(session: AsyncSession) -> None:
    """Wait for a move under way to commit, and keep the next from starting until this transaction ends. Call
    before reading a unit's path that this transaction stores."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_SHARED)


async def reshape_tree(session: AsyncSession) -> None:
    """Wait until no write holds the tree's shape, and keep new ones waiting until this transaction ends. Call
    before a move reads the paths it changes."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_ALONE)
