"""The approval policy as plain data: the tally, who may decide, and the operator's file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.events import ApprovalVote, HumanRequest, HumanResponse
from bot.core.policy import Rule, Vote, refusal, tally, votes_on
from bot.policyfile import PolicyError, load_policy
from bot.runtime.discovery import shipped
from tests.helpers import T0

AGENTS = shipped()


def request(quorum: int = 1, **fields: object) -> HumanRequest:
    return HumanRequest(
        request_id="th_1.r1", kind="approval", message="m", quorum=quorum, at=T0, **fields
    )


@pytest.mark.parametrize(
    ("quorum", "votes", "outcome", "approvals"),
    [
        (1, [], "pending", ()),
        (1, [Vote("U1", True)], "approved", ("U1",)),
        (2, [Vote("U1", True)], "pending", ("U1",)),
        (2, [Vote("U1", True), Vote("U1", True)], "pending", ("U1",)),  # twice counts once
        (2, [Vote("U1", True), Vote("U2", True)], "approved", ("U1", "U2")),
        (3, [Vote("U1", True), Vote("U2", False)], "rejected", ("U1",)),  # one reject rejects
        (2, [Vote("U2", False), Vote("U1", True)], "rejected", ()),
    ],
)
def test_tally(quorum: int, votes: list[Vote], outcome: str, approvals: tuple[str, ...]) -> None:
    result = tally(request(quorum), votes)
    assert (result.outcome, result.approvals, result.needed) == (outcome, approvals, quorum)


@given(
    st.integers(min_value=1, max_value=4),
    st.lists(st.tuples(st.sampled_from(["U1", "U2", "U3", "U4"]), st.booleans()), max_size=8),
    st.randoms(),
)
def test_any_order_of_votes_gives_the_same_outcome(
    quorum: int, pairs: list[tuple[str, bool]], rng: object
) -> None:
    votes = [Vote(user, approved) for user, approved in pairs]
    shuffled = list(votes)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    first, second = tally(request(quorum), votes), tally(request(quorum), shuffled)
    assert first.outcome == second.outcome
    if first.outcome != "rejected":
        assert set(first.approvals) == set(second.approvals)
        assert (first.outcome == "approved") == (len(set(first.approvals)) >= quorum)


def test_votes_are_read_from_the_events() -> None:
    events = [
        ApprovalVote(request_id="th_1.r1", user="U1", at=T0),
        ApprovalVote(request_id="th_1.r9", user="U7", at=T0),
        HumanResponse(request_id="th_1.r1", user="U2", approved=True, at=T0),
    ]
    assert votes_on(events, "th_1.r1") == [Vote("U1", True), Vote("U2", True)]


def test_who_may_decide() -> None:
    everyone = frozenset({"U1", "U2", "U3"})
    assert refusal(request(), "U1", everyone) is None
    assert "not one of its approvers" in (refusal(request(), "U9", everyone) or "")
    narrowed = request(approvers=["U2", "U8"])
    assert refusal(narrowed, "U2", everyone) is None
    assert refusal(narrowed, "U1", everyone) is not None
    assert refusal(narrowed, "U8", frozenset()) is None  # a rule's approvers stand alone
    mine = request(excluded=["U1"])
    assert "started this thread" in (refusal(mine, "U1", everyone) or "")
    assert "must set SLACK_APPROVERS" in (refusal(request(), "U1", frozenset()) or "")
    grouped = request(approver_groups=["S0SRE"])
    assert refusal(grouped, "U5", frozenset(), frozenset({"U5", "U6"})) is None
    assert refusal(grouped, "U7", frozenset(), frozenset({"U5", "U6"})) is not None
    assert refusal(grouped, "U5", everyone, frozenset({"U5"})) is not None  # narrowing still


def test_policy_file_in_toml_and_yaml(tmp_path: Path) -> None:
    toml = tmp_path / "policy.toml"
    toml.write_text(
        '[deploy.deploy_service]\napprovers = ["U1", "U2", "U3"]\nquorum = 2\n'
        'remind_after = "10m"\nexpire_after = 7200\n'
        "\n[support.issue_refund]\nself_approval = true\n"
    )
    policy = load_policy(str(toml), AGENTS)
    declared = Rule()
    assert policy.rule("deploy", "deploy_service", declared) == Rule(
        ("U1", "U2", "U3"), quorum=2, remind_after=600.0, expire_after=7200.0
    )
    assert policy.rule("support", "issue_refund", declared) == Rule(self_approval=True)
    assert policy.rule("deploy", "list_versions", declared) is declared
    yml = tmp_path / "policy.yaml"
    yml.write_text(
        "deploy:\n  deploy_service:\n    approvers: [U1]\n    groups: [S0SRE]\n    quorum: 1\n"
    )
    assert load_policy(str(yml), AGENTS).rule("deploy", "deploy_service", declared) == Rule(
        ("U1",), ("S0SRE",), quorum=1
    )
    assert load_policy(None, AGENTS).rules == {}


@pytest.mark.parametrize(
    ("name", "text", "where", "why"),
    [
        ("p.toml", "[deploy.deploy_service]\nquorum = 0\n", ":2:", "greater than or equal to 1"),
        ("p.toml", "\n\n[deploy.deploy_service]\nwho = 1\n", ":4:", "who: Extra inputs"),
        ("p.toml", "[deploy.nope]\nquorum = 2\n", ":1:", "has no tool 'nope'"),
        ("p.toml", '[deploy.deploy_service]\nexpire_after = "soon"\n', ":2:", "a duration is"),
        ("p.toml", "[deploy.deploy_service]\nremind_after = 0\n", ":2:", "greater than 0"),
        # Once accepted, then every request for the tool failed with an OverflowError.
        ("p.toml", '[deploy.deploy_service]\nexpire_after = "99999999d"\n', ":2:", "less than"),
        ("p.toml", "[deploy.deploy_service]\nremind_after = inf\n", ":2:", "less than"),
        # Once accepted, and never met.
        (
            "p.toml",
            '[deploy.deploy_service]\napprovers = ["U1", "U2", "U1"]\nquorum = 3\n',
            ":3:",
            "a quorum of 3 can never be met by the 2 approvers listed",
        ),
        ("p.toml", "[billing.x]\nquorum = 2\n", ":1:", "no agent 'billing'"),
        ("p.toml", "[deploy.deploy_service\n", ":1:", "not valid TOML"),
        ("p.yaml", "deploy:\n  deploy_service:\n    quorum: many\n", ":3:", "valid integer"),
        ("p.yaml", "deploy:\n  deploy_service: [1\n", ":3:", "not valid YAML"),
        ("p.yaml", "- 1\n", ":1:", "mapping of agents"),
    ],
)
def test_invalid_policy_files_say_where_and_why(
    tmp_path: Path, name: str, text: str, where: str, why: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(PolicyError) as refused:
        load_policy(str(path), AGENTS)
    assert f"{path}{where}" in str(refused.value) and why in str(refused.value)
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(str(tmp_path / "missing.toml"), AGENTS)
