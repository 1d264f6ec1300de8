"""Validation in the pure core (no database): credit codes, patents, listings, organisations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tongxin.core import credit_code
from tongxin.core.errors import ValidationError
from tongxin.core.fields import coerce_field, normalise_patent, parse_date, patent_check_digit
from tongxin.core.kinds import default_registry
from tongxin.core.listing import validate_listing
from tongxin.core.organisation import validate_organisation

REG = default_registry()
TECH = REG.get("technology")
SCEN = REG.get("scenario")


def _errors(fn: Any, *args: Any, **kw: Any) -> dict[str, Any]:
    with pytest.raises(ValidationError) as ei:
        fn(*args, **kw)
    return {e.field: e for e in ei.value.errors}


def tech(**over: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": "technology", "title": "基于通信的列车控制系统", "description": "城轨CBTC列车控制系统。", "industry": "C37",
                         "region": "110108", "owner": "ORG-BJTU", "trl": 7, "transfer_modes": "许可;合作开发"}
    d.update(over)
    return d


def scen(**over: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": "scenario", "title": "城轨列车控制系统产业化场景", "description": "需要引进成熟的CBTC技术。", "industry": "C37",
                         "region": "120114", "owner": "ORG-WQ"}
    d.update(over)
    return d


def org(**over: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"external_id": "ORG-1", "name": "交控技术装备有限公司", "credit_code": credit_code.make("91120114MA05JK0C1"),
                         "org_type": "enterprise", "region": "120114", "industry": "C37"}
    d.update(over)
    return d


def _wrong_check(code: str) -> tuple[str, str]:
    """The code with its check character replaced by another allowed one, and the right character."""
    right = code[17]
    wrong = next(c for c in credit_code.CHARSET if c != right)
    return code[:17] + wrong, right


# -- credit codes ------------------------------------------------------------------------------

# Published codes (GB 32100 example; Xiaomi, Tencent, Sinopec registrations) — an independent check
# that the weights and the check-character table are the standard ones.
@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110108551385082Q", "91440300708461136T", "9111000071093123XX"])
def test_published_credit_codes_are_valid(code: str) -> None:
    assert credit_code.problem(code) is None
    assert credit_code.make(code[:17]) == code


@pytest.mark.parametrize("prefix", ["91120114MA05JK0C1", "12100000400000624", "91110108MA01ABCD1", "52130100MJ0000001", "11100000000013127"])
def test_made_codes_are_valid_and_tolerate_case_and_spaces(prefix: str) -> None:
    code = credit_code.make(prefix)
    assert len(code) == 18 and code[:17] == prefix
    assert credit_code.is_valid(code)
    assert credit_code.is_valid(" " + code.lower()[:9] + " " + code.lower()[9:] + " ")


def test_wrong_check_character_names_the_expected_one() -> None:
    bad, right = _wrong_check(credit_code.make("91120114MA05JK0C1"))
    p = credit_code.problem(bad)
    assert p is not None
    assert p.zh == f"校验位错误：应为 {right}"
    assert p.en == f"check character should be {right}"
    assert not credit_code.is_valid(bad)


def test_every_single_character_change_is_caught() -> None:
    code = credit_code.make("91110108MA01ABCD1")
    for i in range(18):
        for c in credit_code.CHARSET:
            if c != code[i]:
                assert not credit_code.is_valid(code[:i] + c + code[i + 1 :]), (i, c)


@pytest.mark.parametrize("code,n", [("91120114MA05JK0C1", 17), ("91120114MA05JK0C15X", 19), ("", 0)])
def test_wrong_length(code: str, n: int) -> None:
    p = credit_code.problem(code)
    assert p is not None
    assert p.zh == f"应为 18 位，实际 {n} 位"
    assert p.en == f"must be 18 characters, got {n}"


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_forbidden_letters(letter: str) -> None:
    code = "9112011" + letter + "MA05JK0C15"
    assert len(code) == 18
    p = credit_code.problem(code)
    assert p is not None
    assert f"‘{letter}’" in p.zh and "I、O、Z、S、V" in p.zh
    assert f"'{letter}'" in p.en


def test_organisation_reports_credit_code_problem_with_expected_character() -> None:
    bad, right = _wrong_check(org()["credit_code"])
    errs = _errors(validate_organisation, org(credit_code=bad), row=4)
    e = errs["credit_code"]
    assert e.row == 4
    assert f"校验位错误：应为 {right}" in e.message.zh
    assert f"check character should be {right}" in e.message.en
    assert "第 4 行" in str(e) and "Row 4" in str(e)


# -- organisations -----------------------------------------------------------------------------

def test_valid_organisation_normalises() -> None:
    o = validate_organisation(org(credit_code=" " + org()["credit_code"].lower() + " ", org_type="企业", region="天津市武清区", industry="37"))
    assert o.credit_code == org()["credit_code"]
    assert (o.org_type, o.region, o.industry) == ("enterprise", "120114", "C37")
    assert o.external_id == "ORG-1"


def test_organisation_reports_all_problems() -> None:
    errs = _errors(validate_organisation, {"name": "", "credit_code": "", "org_type": "公司", "region": "火星", "industry": "Z99"}, row=3)
    assert set(errs) == {"name", "credit_code", "org_type", "region", "industry"}
    assert all(e.row == 3 for e in errs.values())
    assert "高校" in errs["org_type"].message.zh and "university" in errs["org_type"].message.en
    assert "火星" in errs["region"].message.zh


# -- patents -----------------------------------------------------------------------------------

def test_patent_check_digit_known_values() -> None:
    # 2·2+0·3+2·4+3·5+1·6+0·7+1·8+2·9+3·2+4·3+5·4+6·5 = 127; 127 mod 11 = 6
    assert patent_check_digit("202310123456") == "6"
    # a remainder of 10 is written X
    digits = next(f"2023101{n:05d}" for n in range(100000) if patent_check_digit(f"2023101{n:05d}") == "X")
    assert normalise_patent(f"CN{digits}.X") == (f"CN{digits}.X", None)


def test_patent_number_spellings_normalise() -> None:
    for raw in ("CN202310123456.6", "cn202310123456.6", "ZL202310123456.6", "202310123456.6", "CN 2023101234566"):
        assert normalise_patent(raw) == ("CN202310123456.6", None), raw


def test_bad_patent_format_and_check_digit() -> None:
    errs = _errors(validate_listing, tech(patents="CN20231012345.6"), REG)
    assert "CN202310123456.X" in errs["patents"].message.zh  # the message shows the expected shape
    assert "CN20231012345.6" in errs["patents"].message.en
    errs = _errors(validate_listing, tech(patents="CN202310123456.7(granted)"), REG)
    assert "校验位错误：应为 6" in errs["patents"].message.zh
    assert "check digit should be 6" in errs["patents"].message.en


def test_patents_with_statuses() -> None:
    x = validate_listing(tech(patents="CN202310123456.6(已授权)；ZL202310123456.6（审查中）"), REG)
    assert x.attrs["patents"] == [{"number": "CN202310123456.6", "status": "granted"}, {"number": "CN202310123456.6", "status": "pending"}]
    errs = _errors(validate_listing, tech(patents="CN202310123456.6(lost)"), REG)
    assert "lost" in errs["patents"].message.en


# -- listings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("trl", [0, 10, -1, "12"])
def test_trl_outside_1_to_9(trl: Any) -> None:
    e = _errors(validate_listing, tech(trl=trl), REG)["trl"]
    assert "1–9" in e.message.zh and "between 1 and 9" in e.message.en


@pytest.mark.parametrize("trl,want", [(1, 1), (9, 9), ("6", 6), (6.0, 6), ("7.0", 7)])
def test_trl_inside(trl: Any, want: int) -> None:
    assert validate_listing(tech(trl=trl), REG).attrs["trl"] == want


def test_trl_not_a_whole_number() -> None:
    e = _errors(validate_listing, tech(trl="6.5"), REG)["trl"]
    assert "整数" in e.message.zh and "whole number" in e.message.en


def test_trl_required_for_technology() -> None:
    e = _errors(validate_listing, tech(trl=""), REG)["trl"]
    assert "必填" in e.message.zh


@pytest.mark.parametrize("modes", ["许可;合作开发", "license;co_develop", "Licence, Joint development", ["license", "合作开发"], "许可、合作开发、许可"])
def test_transfer_modes_as_labels_or_values(modes: Any) -> None:
    assert validate_listing(tech(transfer_modes=modes), REG).attrs["transfer_modes"] == ["license", "co_develop"]


def test_unknown_choice_lists_the_options() -> None:
    e = _errors(validate_listing, tech(transfer_modes="许可;买断"), REG)["transfer_modes"]
    assert "买断" in e.message.zh
    for c in TECH.attr("transfer_modes").choices:
        assert c.zh in e.message.zh and c.en in e.message.en


def test_price_min_above_max_refused_equal_allowed() -> None:
    e = _errors(validate_listing, tech(price_min=500, price_max="100"), REG)["price_max"]
    assert "小于下限" in e.message.zh and "below the lower bound" in e.message.en
    x = validate_listing(tech(price_min="200万元", price_max=200), REG)
    assert x.attrs["price_min"] == x.attrs["price_max"] == 200.0


def test_budget_range_on_scenario() -> None:
    assert "budget_max" in _errors(validate_listing, scen(budget_min=300, budget_max=50), REG)


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", float("nan"), float("inf")])
def test_non_finite_numbers_refused(bad: Any) -> None:
    # NaN slips past every range check and cannot be stored as JSON in PostgreSQL
    v, problem = coerce_field(TECH.attr("price_min"), bad)
    assert v is None and problem is not None


def test_negative_price_refused() -> None:
    assert "price_min" in _errors(validate_listing, tech(price_min=-1), REG)


def test_valid_until_before_valid_from() -> None:
    e = _errors(validate_listing, tech(valid_from="2026-06-01", valid_until="2026-05-31"), REG)["valid_until"]
    assert "早于" in e.message.zh and "before valid_from" in e.message.en
    x = validate_listing(tech(valid_from="2026年6月1日", valid_until="2026/6/1"), REG)
    assert x.valid_from == x.valid_until == dt.date(2026, 6, 1)


@pytest.mark.parametrize("raw", [
    "2025-01-01", "2025/1/1", "2025.1.1", "2025年1月1日", "2025 年 1 月 1 日", "20250101", "2025-01-01 08:30:00",
    "2025-01-01T08:30", "２０２５－０１－０１", "２０２５年１月１日", 45658, 45658.75, "45658", "４５６５８",
    dt.datetime(2025, 1, 1, 8, 30), dt.date(2025, 1, 1),
])
def test_date_spellings_and_excel_serials(raw: Any) -> None:
    assert parse_date(raw) == dt.date(2025, 1, 1)
    x = validate_listing(scen(deadline=raw, valid_until=raw), REG)
    assert x.attrs["deadline"] == x.valid_until == dt.date(2025, 1, 1)


@pytest.mark.parametrize("raw", ["2025-13-01", "2025-02-30", "1000", 1000, 99999, "2025-01-01 中午", "明天", True])
def test_not_dates(raw: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        parse_date(raw)
    assert "deadline" in _errors(validate_listing, scen(deadline=raw), REG)


def test_full_width_codes_numbers_and_credit_codes() -> None:
    x = validate_listing(tech(region="１３０２０３", industry="Ｃ３７", trl="６", price_min="１００", price_max="３００"), REG)
    assert (x.region, x.industry, x.attrs["trl"], x.attrs["price_min"]) == ("130203", "C37", 6, 100.0)
    code = credit_code.make("91120114MA05JK0C1")
    o = validate_organisation(org(credit_code=code.translate(str.maketrans("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ"))))
    assert o.credit_code == code
    # prose keeps its full-width punctuation: only codes, numbers and dates are folded
    assert validate_listing(tech(title="列车控制（CBTC），全自动"), REG).title == "列车控制（CBTC），全自动"


def test_hebei_county_region_is_valid() -> None:
    x = validate_listing(tech(region="130203"), REG)
    assert x.region == "130203"
    assert validate_listing(tech(region="唐山市路北区"), REG).region == "130203"


def test_bad_dates() -> None:
    errs = _errors(validate_listing, scen(valid_from="明天", deadline="2026-13-01"), REG)
    assert "明天" in errs["valid_from"].message.zh
    assert "deadline" in errs


def test_unknown_industry_and_region_codes() -> None:
    errs = _errors(validate_listing, tech(industry="C99", region="999999"), REG)
    assert "C99" in errs["industry"].message.zh and "GB/T 4754" in errs["industry"].message.en
    assert "999999" in errs["region"].message.zh and "GB/T 2260" in errs["region"].message.en


def test_region_name_and_industry_number_normalise() -> None:
    x = validate_listing(tech(region="武清区", industry="37"), REG)
    assert (x.region, x.industry) == ("120114", "C37")
    x = validate_listing(tech(region=120114.0, industry=37), REG)
    assert (x.region, x.industry) == ("120114", "C37")


def test_every_problem_reported_at_once_with_row() -> None:
    raw = tech(title="", description="", industry="X1", region="nowhere", owner="", trl=10, transfer_modes="买断", price_min=9, price_max=1,
               patents="CN1", valid_from="2026-02-01", valid_until="2026-01-01", visibility="secret", status="gone", side="need")
    with pytest.raises(ValidationError) as ei:
        validate_listing(raw, REG, row=12)
    errs = ei.value.errors
    want = {"title", "description", "industry", "region", "owner", "trl", "transfer_modes", "price_max", "patents", "valid_until",
            "visibility", "status", "side"}
    assert {e.field for e in errs} == want
    assert all(e.row == 12 for e in errs)
    assert all(str(e).startswith("第 12 行") and "Row 12" in str(e) for e in errs)
    assert ei.value.as_dict()["errors"][0]["row"] == 12


def test_no_row_when_not_given() -> None:
    with pytest.raises(ValidationError) as ei:
        validate_listing(tech(trl=0), REG)
    assert ei.value.errors[0].row is None and "行" not in str(ei.value.errors[0]).split("‘")[0]


def test_unknown_kind_lists_kinds() -> None:
    e = _errors(validate_listing, tech(kind="设备"), REG)["kind"]
    assert "科技成果(technology)" in e.message.zh and "scenario" in e.message.en


def test_kind_by_chinese_name_and_defaults() -> None:
    x = validate_listing(tech(kind="科技成果", keywords="CBTC；列车控制、轨道交通", visibility="保密", status="草稿"), REG)
    assert (x.kind, x.side, x.visibility, x.status) == ("technology", "offer", "confidential", "draft")
    assert x.keywords == ["CBTC", "列车控制", "轨道交通"]
    y = validate_listing(scen(), REG)
    assert (y.side, y.visibility, y.status) == ("need", "public", "published")


def test_nested_attrs_win_over_flat() -> None:
    x = validate_listing(tech(trl=1, attrs={"trl": "8", "transfer_modes": ["service"]}), REG)
    assert x.attrs["trl"] == 8 and x.attrs["transfer_modes"] == ["service"]


def test_too_long_title_and_too_many_keywords() -> None:
    errs = _errors(validate_listing, tech(title="长" * 121, keywords=";".join(f"k{i}" for i in range(21))), REG)
    assert "121" in errs["title"].message.zh and "21" in errs["keywords"].message.en


def test_scenario_attrs() -> None:
    x = validate_listing(scen(required_trl="6", budget_min="50", budget_max="200", deadline="2026-12-31", problem=" 信号系统国产化 "), REG)
    assert x.attrs == {"required_trl": 6, "budget_min": 50.0, "budget_max": 200.0, "deadline": dt.date(2026, 12, 31), "problem": "信号系统国产化"}
    assert "required_trl" in _errors(validate_listing, scen(required_trl=0), REG)


def test_control_characters_removed_and_line_breaks_normalised() -> None:
    # pasted from Word: a vertical tab and a bell cannot be written to XLSX; \r\n becomes \n
    x = validate_listing(tech(title="列车\x0b控制系统\x07", description=" 第一行\r\n第二行\r第三行 ", team="张三\x0c李四",
                              keywords=["CBTC\x0b", "\x07"]), REG)
    assert x.title == "列车控制系统"
    assert x.description == "第一行\n第二行\n第三行"
    assert x.attrs["team"] == "张三李四"
    assert x.keywords == ["CBTC"]
    o = validate_organisation(org(name="交控\x00科技", contact_name="张工\x1f"))
    assert (o.name, o.contact_name) == ("交控科技", "张工")


def test_keyword_lists_are_split_like_text() -> None:
    # an export joins keywords with ';', so a listed keyword holding a separator must split the same way
    a = validate_listing(tech(keywords=["列车控制;CBTC", "轨道交通、信号"]), REG)
    b = validate_listing(tech(keywords="列车控制;CBTC;轨道交通;信号"), REG)
    assert a.keywords == b.keywords == ["列车控制", "CBTC", "轨道交通", "信号"]


def test_field_lengths_within_database_limits() -> None:
    errs = _errors(validate_organisation, org(contact_phone="1" * 51, website="w" * 201, contact_name="名" * 101, external_id="E" * 65))
    assert set(errs) == {"contact_phone", "website", "contact_name", "external_id"}
    assert "51" in errs["contact_phone"].message.zh and "at most 50" in errs["contact_phone"].message.en
    assert "external_id" in _errors(validate_listing, tech(external_id="T" * 65), REG)
    assert validate_listing(tech(external_id="T" * 64), REG).external_id == "T" * 64
