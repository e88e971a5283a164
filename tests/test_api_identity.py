"""API credentials and the identities they carry (`HITLBOT_API_KEYS`, issue 18.2)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.api.identity import OPERATOR, identify
from bot.config import Settings, api_keys
from bot.core.refusals import Forbidden

KEY = "k3y-of-ana-0123456789"


def test_keys_parse_and_bad_entries_are_refused_at_start_without_the_key() -> None:
    assert api_keys(f" {KEY}=U0ANA , k3y-of-ci-0123456789=service:ci ,") == {
        KEY: "U0ANA",
        "k3y-of-ci-0123456789": "service:ci",
    }
    for bad, why in (
        ("short=U0ANA", r"16\+ characters"),
        (KEY, "not KEY=IDENTITY"),
        (f"{KEY}=", "not KEY=IDENTITY"),
        (f"{KEY}=service:", "needs a name"),
        (f"{KEY}=U1,{KEY}=U2", "listed twice"),
    ):
        with pytest.raises(ValidationError, match=why) as refused:
            Settings(_env_file=None, HITLBOT_API_KEYS=bad)
        assert KEY not in str(refused.value) or bad == KEY  # no entry: nothing to hide


def test_each_credential_carries_its_identity() -> None:
    settings = Settings(
        _env_file=None,
        HITLBOT_API_TOKEN="operator-token",
        HITLBOT_API_KEYS=f"{KEY}=U0ANA,k3y-of-ci-0123456789=service:ci",
    )
    ana = identify(settings, KEY)
    assert ana is not None and ana.name == "U0ANA" and ana.client.startswith("U0ANA#")
    assert ana.decider(None) == ana.decider("U0ANA") == "U0ANA"
    with pytest.raises(Forbidden, match="acts as U0ANA"):
        ana.decider("U0BOSS")
    assert ana.writer(None) == "U0ANA"
    ci = identify(settings, "k3y-of-ci-0123456789")
    assert ci is not None and ci.service and ci.writer("U0X") == "U0X"
    with pytest.raises(Forbidden, match="service identity"):
        ci.decider(None)
    operator = identify(settings, "operator-token")
    assert operator is not None and operator.name == OPERATOR and not operator.trusted
    assert operator.decider(None) == OPERATOR and operator.writer("U0X") == "U0X"
    trusted = identify(
        settings.model_copy(update={"api_trusted_decisions": True}), "operator-token"
    )
    assert trusted is not None and trusted.decider("U0BOSS") == "U0BOSS"
    assert identify(settings, "nope") is None and identify(settings, "") is None
