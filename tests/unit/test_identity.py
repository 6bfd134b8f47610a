"""The identity token: verification, and the memory of tokens already verified."""

from __future__ import annotations

import pytest

from shared.identity import Identity, Role, _VerifiedTokens, issue_identity_token, verify_identity_token
from shared.problems import Problem

SECRET = "a-secret-of-at-least-thirty-two-chars!"
OTHER = "another-secret-of-thirty-two-chars-long"
ALICE = Identity(subject="alice", role=Role.TOWN_ADMIN, scope_unit_id="T1")


def test_a_token_is_verified_again_from_memory_with_the_same_answer():
    token = issue_identity_token(ALICE, SECRET)
    first, second = verify_identity_token(token, SECRET), verify_identity_token(token, SECRET)
    assert first == ALICE and second is first


def test_a_remembered_token_is_still_refused_under_another_secret():
    token = issue_identity_token(ALICE, SECRET)
    verify_identity_token(token, SECRET)
    with pytest.raises(Problem) as refused:
        verify_identity_token(token, OTHER)
    assert refused.value.status == 401


def test_tampered_and_expired_tokens_are_refused():
    token = issue_identity_token(ALICE, SECRET)
    header, claims, signature = token.split(".")
    tampered = ".".join([header, claims, ("A" if signature[0] != "A" else "B") + signature[1:]])
    expired = issue_identity_token(ALICE, SECRET, ttl_seconds=-5)
    for bad in (tampered, expired, "not-a-token"):
        with pytest.raises(Problem) as refused:
            verify_identity_token(bad, SECRET)
        assert refused.value.status == 401


def test_the_memory_is_bounded_and_forgets_the_oldest_first():
    tokens = _VerifiedTokens(capacity=3)
    issued = [issue_identity_token(ALICE.model_copy(update={"subject": f"user{i}"}), SECRET) for i in range(5)]
    for token in issued:
        tokens.identity(token, SECRET)
    assert len(tokens._known) == 3
    assert [key[1] for key in tokens._known] == issued[2:]


def test_an_identity_cannot_be_changed_once_verified():
    identity = verify_identity_token(issue_identity_token(ALICE, SECRET), SECRET)
    with pytest.raises(ValueError):
        identity.role = Role.PLATFORM_ADMIN  # type: ignore[misc]
