"""The order state machine in one table: state → the states it may move to, and by which action.

Service functions consult `target_of(action, status)`; anything not in the table is a 409.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where an order stands."""

    SUBMITTED = "submitted"  # 点单: placed, waiting to be accepted
    ACCEPTED = "accepted"  # 受理
    DISPATCHED = "dispatched"  # 派单: with a provider or a person
    IN_PROGRESS = "in_progress"  # 办理中
    COMPLETED = "completed"  # 办结
    EVALUATED = "evaluated"  # 评价
    RETURNED = "returned"  # 退单: the provider declined; waits for another dispatch
    CANCELLED = "cancelled"  # 撤销
    REJECTED = "rejected"  # 不予受理


class Action(StrEnum):
    """What a caller does to an order (each an endpoint `POST /orders/{id}/<action>`)."""

    ACCEPT = "accept"
    DISPATCH = "dispatch"
    START = "start"
    COMPLETE = "complete"
    EVALUATE = "evaluate"
    RETURN = "return"
    CANCEL = "cancel"
    REJECT = "reject"


S, A = Status, Action

# state → {action: next state}. Read a row as "from here, these moves are legal".
TRANSITIONS: dict[Status, dict[Action, Status]] = {
    S.SUBMITTED: {A.ACCEPT: S.ACCEPTED, A.REJECT: S.REJECTED, A.CANCEL: S.CANCELLED},
    S.ACCEPTED: {A.DISPATCH: S.DISPATCHED, A.REJECT: S.REJECTED, A.CANCEL: S.CANCELLED},
    S.DISPATCHED: {A.START: S.IN_PROGRESS, A.RETURN: S.RETURNED, A.CANCEL: S.CANCELLED},
    S.IN_PROGRESS: {A.COMPLETE: S.COMPLETED, A.RETURN: S.RETURNED, A.CANCEL: S.CANCELLED},
    S.RETURNED: {A.DISPATCH: S.DISPATCHED, A.REJECT: S.REJECTED, A.CANCEL: S.CANCELLED},
    S.COMPLETED: {A.EVALUATE: S.EVALUATED},
    S.EVALUATED: {},
    S.CANCELLED: {},
    S.REJECTED: {},
}

# Not yet served: the completion clock still runs for these.
OPEN = frozenset({S.SUBMITTED, S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS, S.RETURNED})
# Served (a completed order stays served once evaluated).
SERVED = frozenset({S.COMPLETED, S.EVALUATED})
# Nothing more can happen.
FINAL = frozenset(state for state, moves in TRANSITIONS.items() if not moves)


class IllegalTransition(Exception):
    """An action the order's current state does not allow."""

    def __init__(self, action: Action, status: Status) -> None:
        allowed = ", ".join(a.value for a in TRANSITIONS[status]) or "nothing"
        super().__init__(f"cannot {action.value} an order that is {status.value} (allowed: {allowed})")
        self.action = action
        self.status = status


def target_of(action: Action, status: Status) -> Status:
    """The state `action` leads to from `status`; IllegalTransition when the table has no such move."""
    try:
        return TRANSITIONS[status][action]
    except KeyError:
        raise IllegalTransition(action, status) from None


def allowed_actions(status: Status) -> list[Action]:
    """The actions legal from `status`, in table order."""
    return list(TRANSITIONS[status])
