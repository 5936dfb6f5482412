"""Value normalisation and header matching: the shared mechanisms every source relies on."""

import datetime as dt

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.contract import Column
from pipelines.contract.tables import parse_distinct
from pipelines.foundation.text import word_key as normalize_header
from pipelines.foundation.text import word_key_expr as word_key
from pipelines.ingest.headers import build_vocabulary, locate_header
from pipelines.ingest.values import KINDS, finess_key_is_valid


def value_parser(column: Column):
    return column.parser()


def parse(kind: str, values: list) -> list:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    return frame.select(KINDS[kind].parse(pl.col("v")))["v"].to_list()


def test_yes_no_variants_and_unknowns():
    assert parse("yes_no", ["Oui", " non ", "O", "n", "X", "1", "0", "Vrai", "FAUX", "Yes", "no", "true"]) == [
        True,
        False,
        True,
        False,
        True,
        True,
        False,
        True,
        False,
        True,
        False,
        True,
    ]
    # empty is unknown, never "no"; another word does not parse
    assert parse("yes_no", ["", None, "peut-être", "oui mais"]) == [None, None, None, None]


def test_numbers_with_french_separators():
    assert parse("integer", ["1234", "1 234", "1\u00a0234", "1\u202f234", "-3", "12.0"]) == [
        1234,
        1234,
        1234,
        1234,
        -3,
        12,
    ]
    assert parse("integer", ["12,5", "douze", "1.234,5"]) == [None, None, None]
    assert parse("decimal", ["1234,5", "1 234,5", "0.5", "1.234,5", "1,234.5"]) == [1234.5, 1234.5, 0.5, None, None]


def test_rates_with_percent_or_decimal_comma():
    assert parse("rate", ["69 %", "69%", "0,69", "0.69", "69,5 %"]) == pytest.approx([0.69, 0.69, 0.69, 0.69, 0.695])


def test_dates_in_every_accepted_shape():
    values = ["2024-06-03 10:12:00", "03/06/2024", "3/6/2024", "03/06/24", "2024-06-03", "45446", "03/06/2024 10:15"]
    parsed = parse("datetime", values)
    assert [d.date() for d in parsed] == [dt.date(2024, 6, 3)] * len(values)
    assert parsed[-1] == dt.datetime(2024, 6, 3, 10, 15)
    assert parse("date", ["31/02/2024", "2024-13-01", "hier"]) == [None, None, None]


def test_months():
    assert parse("month", ["2024-11", "11/2024", "2024-11-30", "45626"]) == [dt.date(2024, 11, 1)] * 4
    assert parse("month", ["13/2025", "2025-00"]) == [None, None]


def test_finess_restores_lost_leading_zero_and_checks_its_key():
    frame = pl.DataFrame({"v": ["720000017", "10000123", "720000018", "2A0000006", "72 000 001 7"]})
    result = frame.select(f=KINDS["finess"].parse(pl.col("v"))).with_columns(ok=finess_key_is_valid(pl.col("f")))
    assert result["f"].to_list() == ["720000017", "010000123", "720000018", "2A0000006", "720000017"]
    assert result["ok"].to_list() == [True, True, False, _luhn_ok("210000006"), True]


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_finess_key_matches_a_reference_luhn(number):
    frame = pl.DataFrame({"f": [number]})
    assert frame.select(ok=finess_key_is_valid(pl.col("f")))["ok"][0] == _luhn_ok(number)


@given(st.integers(min_value=0, max_value=10**12))
def test_integers_round_trip_with_any_thousands_separator(number):
    grouped = f"{number:,}"
    for separator in (" ", "\u00a0", "\u202f", ""):
        assert parse("integer", [grouped.replace(",", separator)]) == [number]


@given(
    st.lists(
        st.one_of(
            st.integers(min_value=-(10**19), max_value=10**19).map(str),
            st.integers(min_value=0, max_value=10**9).map(lambda n: f"{n:,}".replace(",", "\u00a0")),
            st.integers(min_value=0, max_value=10**6).map(lambda n: f" {n}.0 "),
            st.text(alphabet="0123456789+-., e\u00a0", max_size=8),
            st.none(),
        ),
        max_size=30,
    )
)
def test_integers_cast_directly_where_plain_give_what_the_full_parser_gives(cells):
    series = pl.Series("v", cells, dtype=pl.String)
    assert parse_distinct(series, KINDS["integer"]).to_list() == parse("integer", cells)


@given(st.text(max_size=12))
def test_yes_no_never_invents_an_answer(text):
    answer = parse("yes_no", [text])[0]
    key = text.strip().lower()
    if answer is True:
        assert key in {"oui", "o", "x", "1", "vrai", "yes", "y", "true", "1.0"}
    elif answer is False:
        assert key in {"non", "n", "0", "faux", "no", "false", "0.0"}


def test_headers_ignore_case_accents_punctuation_and_line_breaks():
    assert normalize_header("Équipée\nMSSanté ?") == normalize_header("equipee mssante") == "equipee mssante"
    vocabulary = build_vocabulary({"mssante": ["Équipée MSSanté"], "finess": ["N° FINESS"]})
    rows = [("Enquête officines", None), (None, None), ("N° Finess :", "EQUIPEE  MSSANTE ?", "Commentaire")]
    match = locate_header(rows, vocabulary)
    assert match.row_index == 2
    assert match.columns == {"finess": 0, "mssante": 1}
    assert match.ignored == ["Commentaire"]


# --- word keys and "choice" columns ----------------------------------------------------------------

TRICKY = [
    "Équipée\nMSSanté ?",
    "  Privé - non lucratif ",
    "Cœur d'Île-de-France",
    "ŒUVRE",
    "À réaliser",
    "établissement de santé privé d’intérêt collectif",
    "Loire-Atlantique (44)",
    "44.0",
    "Maine‑et‑Loire",
    "N°\u00a0FINESS :",
    "Ｆｉｎｅｓｓ",
    "ﬁn ½",
    "Ça\r\nva\tbien",
    "İstanbul",
    "ß",
    "",
    "---",
    "a\u0903b",
]


def keys(values: list) -> list:
    return pl.DataFrame({"v": values}, schema={"v": pl.String}).select(word_key(pl.col("v")))["v"].to_list()


def test_word_key_is_the_header_key():
    assert keys(TRICKY) == [normalize_header(t) for t in TRICKY]
    assert keys(TRICKY[:3]) == ["equipee mssante", "prive non lucratif", "c ur d ile de france"]
    assert keys([None]) == [None]


@given(
    st.text(
        alphabet=st.characters(max_codepoint=0x2FF) | st.sampled_from("œŒæ’‘–—…«»\u00a0\u202f\u2011\u0301\u0327"),
        max_size=20,
    )
)
def test_word_key_agrees_with_normalize_header(text):
    assert keys([text]) == [normalize_header(text)]


CATEGORY = Column(
    "categorie",
    "choice",
    ("Catégorie",),
    "catégorie",
    choices={
        "GHT": "ght",
        "public": "ght",
        "ESPIC": "non_lucratif",
        "privé non lucratif": "non_lucratif",
        "associatif": "non_lucratif",
        "privé lucratif": "prive",
    },
)


def test_choice_gives_the_code_of_any_spelling_and_null_for_another_word():
    parser = value_parser(CATEGORY)
    values = [
        "ght",
        " (GHT). ",
        "Privé - NON lucratif",
        "prive non-lucratif",
        "ASSOCIATIF",
        "Privé lucratif",
        "Clinique",
        "privé",
        "",
        None,
    ]
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    assert frame.select(parser.parse(pl.col("v")))["v"].to_list() == [
        "ght",
        "ght",
        "non_lucratif",
        "non_lucratif",
        "non_lucratif",
        "prive",
        None,
        None,
        None,
        None,
    ]
    assert parser.dtype == pl.String
    assert parser.expected == "« GHT » (ou « public »), « ESPIC » (ou « privé non lucratif ») ou « privé lucratif »"
    assert parser.described == "une valeur admise pour « catégorie »"


def test_choice_reads_excel_numbers_and_lists_a_readable_subset():
    codes = Column("code", "choice", ("Code",), "code", choices={str(n): f"c{n}" for n in range(1, 12)})
    frame = pl.DataFrame({"v": ["3", "3.0", "03", "3,5", "12"]})
    assert frame.select(value_parser(codes).parse(pl.col("v")))["v"].to_list() == ["c3", "c3", None, None, None]
    assert value_parser(codes).expected == "« 1 », « 2 », « 3 », « 4 », « 5 », « 6 », « 7 », « 8 », …"
    single = Column("oui", "choice", ("Oui",), "oui", choices={"Oui": "o"})
    assert value_parser(single).expected == "« Oui »"


def test_choice_columns_are_declared_consistently():
    assert value_parser(Column("n", "integer", ("N",), "n")) is KINDS["integer"]
    with pytest.raises(ValueError):
        Column("c", "choice", ("C",), "c")  # no choices
    with pytest.raises(ValueError):
        Column("c", "text", ("C",), "c", choices={"a": "a"})  # choices on another kind
    with pytest.raises(ValueError):  # two spellings of one word, two codes
        value_parser(Column("c", "choice", ("C",), "c", choices={"Privé": "prive", "PRIVE": "public"}))
    with pytest.raises(ValueError):
        value_parser(Column("c", "kilogram", ("C",), "c"))
