"""What a KindSpec declares is what the code uses: units in both languages, search filters,
text weights, pairs found from either side, roles."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

import pytest
from factories import LISTINGS
from test_kinds_resources import VALID

from tongxin.core.errors import ValidationError
from tongxin.core.fields import AttrField, Filter
from tongxin.core.kinds import KindSpec, Registry, default_registry
from tongxin.core.kinds.registry import TextWeights
from tongxin.core.listing import Listing, validate_listing
from tongxin.core.matching import fit as fitrules
from tongxin.core.matching.fit import MatchContext
from tongxin.core.matching.query import index_terms
from tongxin.core.text.analyzer import Analyzer
from tongxin.services.filters import SearchFilters, filter_params, parse_filters, passes

REG = default_registry()
CTX = MatchContext(today=dt.date(2026, 6, 1))


def _listing(ext: str) -> Listing:
    rows = {r["external_id"]: r for r in LISTINGS}
    return validate_listing(rows[ext], REG)


def test_every_unit_is_declared_in_both_languages() -> None:
    with_unit = [(s.name, a) for s in REG for a in s.attrs if a.unit_zh]
    assert len(with_unit) >= 28
    assert all(a.unit_en and a.unit_en != a.unit_zh for _, a in with_unit)
    assert {a.unit_en for _, a in with_unit} >= {"×10k CNY", "CNY", "t", "km", "hours", "CNY/kg", "CNY/t"}
    assert REG.get("material_lot").attr("tonnage").unit("en") == "t"
    with pytest.raises(ValueError, match="unit_en"):
        AttrField("weight", "重量", "weight", "float", unit_zh="吨")
    with pytest.raises(ValueError, match="choice filter"):
        AttrField("n", "数量", "count", "int", filter=Filter("choice"))
    with pytest.raises(ValueError, match="number field"):
        AttrField("s", "名称", "name", "str", filter=Filter("at_least"))


def _ok(raw: dict[str, object], *exts: str) -> list[bool]:
    f = parse_filters(raw, REG)
    return [passes(_listing(e), f, REG) for e in exts]


def test_builtin_filters_mean_what_they_meant() -> None:
    # T-CBTC: TRL 7, price from 100; S-WQ: requires TRL 6, budget 50–400; S-PEPT requires TRL 4
    assert _ok({"trl": "6"}, "T-CBTC", "S-WQ", "S-PEPT") == [True, True, True]
    assert _ok({"trl": "8"}, "T-CBTC", "S-WQ") == [False, True]
    assert _ok({"trl": "5"}, "T-CBTC", "S-WQ", "S-PEPT") == [True, False, True]
    assert _ok({"budget": "100"}, "T-CBTC", "S-WQ") == [True, True]
    assert _ok({"budget": "99"}, "T-CBTC", "S-WQ") == [False, True]
    assert _ok({"budget": "401"}, "T-CBTC", "S-WQ") == [True, False]
    assert _ok({"transfer_modes": "许可"}, "T-CBTC") == [True]
    assert _ok({"transfer_modes": "equity"}, "T-CBTC") == [False]
    # a kind without a field for the parameter cannot meet it
    inst = validate_listing(VALID["instrument"][0], REG)
    assert not passes(inst, parse_filters({"trl": "5"}, REG), REG)
    assert passes(inst, parse_filters({"category": inst.attrs["category"]}, REG), REG)
    # a chosen kind keeps only its own parameters
    assert parse_filters({"kind": "scenario", "trl": "5", "category": "analytical"}, REG).attrs == {"trl": 5}


def test_bad_filter_values_are_named() -> None:
    with pytest.raises(ValidationError) as e:
        parse_filters({"trl": "10", "budget": "-1", "transfer_modes": "买断", "kind": "nope"}, REG)
    by = {er.field: er.message for er in e.value.errors}
    assert set(by) == {"trl", "budget", "transfer_modes", "kind"}
    assert "1–9" in by["trl"].zh and "1 to 9" in by["trl"].en
    assert "万元" in by["budget"].zh and "×10k CNY" in by["budget"].en
    assert "许可" in by["transfer_modes"].zh


def test_filter_form_parameters_per_kind() -> None:
    tech = {p.param: p for p in filter_params(REG, "technology")}
    assert list(tech) == ["trl", "transfer_modes", "budget"]
    assert tech["budget"].label("zh") == "您的预算（万元）" and tech["budget"].label("en") == "Your budget (×10k CNY)"
    assert tech["trl"].bounds() == (1, 9)
    assert [c[0] for c in tech["transfer_modes"].choices()][:2] == ["transfer", "license"]
    everything = {p.param for p in filter_params(REG)}
    assert {"trl", "budget", "category", "grade", "product_type"} <= everything
    assert SearchFilters().get("trl") is None


def test_text_weights_are_the_index_repeats() -> None:
    spec = REG.get("technology")
    assert spec.text_weights == TextWeights(3, 2, 1)
    x = _listing("T-CBTC")
    an = Analyzer()
    default = Counter(index_terms(x, spec, an))
    flat = Counter(index_terms(x, dataclasses.replace(spec, text_weights=TextWeights(1, 1, 1)), an))
    title_word = "列车"  # in the title and the body
    assert default[title_word] - flat[title_word] == 2 * an.terms(x.title).count(title_word) + an.terms(" ".join(x.keywords)).count(title_word)
    with pytest.raises(ValueError):
        TextWeights(0, 1, 1)


def test_a_pair_is_found_from_either_side() -> None:
    tech, scen = _listing("T-CBTC"), _listing("S-WQ")
    want = fitrules.technology_vs_scenario(tech, scen, CTX)
    from_tech, from_scen = REG.pairing("technology", "scenario"), REG.pairing("scenario", "technology")
    assert from_tech.fit is not None and from_scen.fit is not None
    assert from_tech.fit(tech, scen, CTX) == want == from_scen.fit(scen, tech, CTX)
    assert REG.counterparts("scenario") == ("technology",) and REG.counterparts("financing_need") == ("financial_service", "policy")
    assert REG.pairing("technology", "instrument") == type(from_tech)(None, None)


def test_roles_are_declared_and_unique() -> None:
    assert REG.kind_with("bookable") == "instrument" and REG.kind_with("headline_offer") == "technology"
    assert REG.has_role("policy", "eligibility_rules") and not REG.has_role("technology", "bookable")
    reg = Registry()
    reg.register(REG.get("instrument"))
    with pytest.raises(ValueError, match="bookable"):
        reg.register(dataclasses.replace(REG.get("testing_need"), roles=frozenset({"bookable"})))
    with pytest.raises(ValueError, match="unknown role"):
        reg.register(KindSpec(name="x", zh="x", en="x", sides=("offer",), attrs=(), roles=frozenset({"bookabel"})))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_forms_and_pages_show_each_fields_own_unit(lang: str) -> None:
    from tongxin.web.deps import templates

    t = lambda zh, en: en if lang == "en" else zh  # noqa: E731
    field_tpl = templates.env.get_template("_field.html")
    n = 0
    for spec in REG:
        for a in spec.attrs:
            if not a.unit_zh:
                continue
            html = field_tpl.render(a=a, values={}, errors={}, lang=lang, t=t)
            want = f"({a.unit_en})" if lang == "en" else f"（{a.unit_zh}）"
            assert want in html, (spec.name, a.key, html[:300])
            if lang == "en" and a.unit_en != "×10k CNY":
                assert "×10k CNY" not in html, (spec.name, a.key)
            n += 1
    assert n >= 28


def test_a_hard_rule_needs_its_pair() -> None:
    with pytest.raises(ValueError, match="need a fit"):
        KindSpec(name="x", zh="x", en="x", sides=("offer",), attrs=(), hards={"scenario": lambda a, b, c: True})
