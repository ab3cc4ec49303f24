from decimal import Decimal

import pytest

from polyphrase.fidelity.numbers import Quantity, check_numbers, extract_quantities, uses_decimal_comma


def readings(text: str) -> list[tuple[Decimal | str, str]]:
    return [(quantity.value, quantity.unit) for quantity in extract_quantities(text)]


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("7 million people", Decimal(7_000_000), ""),
        ("7,000,000 people", Decimal(7_000_000), ""),
        ("seven million people", Decimal(7_000_000), ""),
        ("Seven Million people", Decimal(7_000_000), ""),
        ("7 000 000 people", Decimal(7_000_000), ""),
        ("7\u2009000\u2009000 people", Decimal(7_000_000), ""),
        ("7\u202f000\u202f000 people", Decimal(7_000_000), ""),
        ("7\u00a0000\u00a0000 people", Decimal(7_000_000), ""),
        ("1.5 billion", Decimal(1_500_000_000), ""),
        ("1,500,000,000", Decimal(1_500_000_000), ""),
        ("1.5bn", Decimal(1_500_000_000), ""),
        ("330 metres", Decimal(330), "m"),
        ("330 m", Decimal(330), "m"),
        ("330 meters", Decimal(330), "m"),
        ("a 330-metre tower", Decimal(330), "m"),
        ("3 km", Decimal(3), "km"),
        ("three kilometres", Decimal(3), "km"),
        ("50%", Decimal(50), "%"),
        ("50 percent", Decimal(50), "%"),
        ("50 per cent", Decimal(50), "%"),
        ("fifty per cent", Decimal(50), "%"),
        ("twenty percent", Decimal(20), "%"),
        ("twenty-one guns", Decimal(21), ""),
        ("a hundred guns", Decimal(100), ""),
        ("a dozen eggs", Decimal(12), ""),
        ("two hundred and fifty", Decimal(250), ""),
        ("one hundred thousand", Decimal(100_000), ""),
        ("in 1969", Decimal(1969), ""),
        ("in the year 1969", Decimal(1969), ""),
        ("pi is 3.14", Decimal("3.14"), ""),
        ("1,500 people", Decimal(1500), ""),
        ("-5 degrees", Decimal(-5), "deg"),
        ("−5 °C", Decimal(-5), "degc"),
        ("21½ hours", Decimal("21.5"), "hour"),
        ("the 1960s", Decimal(1960), "decade"),
        ("the 21st century", Decimal(21), "ordinal"),
        ("$3m", Decimal(3_000_000), "usd"),
        ("£7bn", Decimal(7_000_000_000), "gbp"),
        ("US$5.5 billion", Decimal(5_500_000_000), "usd"),
        ("10 dollars", Decimal(10), "usd"),
        ("a 10k run", Decimal(10_000), ""),
        ("7m people", Decimal(7), "m"),
        ("about 300km east", Decimal(300), "km"),
    ],
)
def test_extract_value_and_unit(text: str, value: Decimal, unit: str) -> None:
    assert readings(text) == [(value, unit)]


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("20 July 1969", "1969-07-20", "date"),
        ("July 20, 1969", "1969-07-20", "date"),
        ("1969-07-20", "1969-07-20", "date"),
        ("20th of July, 1969", "1969-07-20", "date"),
        ("July 20 , 1969", "1969-07-20", "date"),
        ("on june 24 1979", "1979-06-24", "date"),
        ("20/07/1969", "1969-07-20", "date"),
        ("07/20/1969", "1969-07-20", "date"),
        ("5/6/1969", "5/6/1969", "date"),
        ("in July 1969", "1969-07", "date"),
        ("on July 20", "--07-20", "date"),
        ("at 20:18 UTC", "20:18", "time"),
        ("at 8:18 pm", "20:18", "time"),
        ("at 13:32:00", "13:32", "time"),
        ("at 9:32:05 a.m.", "09:32:05", "time"),
        ("Python 3.11.7", "3.11.7", "version"),
    ],
)
def test_extract_dates_times_versions(text: str, value: str, unit: str) -> None:
    assert readings(text) == [(value, unit)]


def test_extract_keeps_surface() -> None:
    assert extract_quantities("It is 330 metres tall.") == [Quantity(Decimal(330), "m", "330 metres")]


@pytest.mark.parametrize(
    "text",
    [
        "CO2 and MP3 and 3D",
        "as cited[12] earlier",
        "1. first item\n2. second item",
        "one of the men",
        "a man and an hour",
        "the first and the third",
        "once or twice, both of them",
        "they may march",
    ],
)
def test_extract_skips_non_quantities(text: str) -> None:
    assert readings(text) == []


def test_extract_text_order() -> None:
    assert readings("½ a cup, then 20 July 1969, then 7 km") == [
        (Decimal("0.5"), ""),
        ("1969-07-20", "date"),
        (Decimal(7), "km"),
    ]


def test_extract_cjk_neighbours() -> None:
    assert readings("第2版を1つ") == [(Decimal(2), ""), (Decimal(1), "")]


def test_extract_number_word_runs() -> None:
    assert readings("one two three") == [(Decimal(2), ""), (Decimal(3), "")]


def test_extract_european_decimal_comma() -> None:
    text = "Der Turm ist 1,5 km entfernt und 2,25 m breit."
    assert readings(text) == [(Decimal("1.5"), "km"), (Decimal("2.25"), "m")]


def test_extract_european_thousands() -> None:
    text = "Die Stadt hat 7.000.000 Einwohner, der Fluss ist 1,5 km breit."
    assert readings(text) == [(Decimal(7_000_000), ""), (Decimal("1.5"), "km")]


def test_extract_european_mixed_groups() -> None:
    assert readings("Es kostet 1.234,5 Euro.") == [(Decimal("1234.5"), "eur")]


def test_extract_forced_decimal_comma() -> None:
    assert readings("1,500") == [(Decimal(1500), "")]
    assert extract_quantities("1,500", decimal_comma=True)[0].value == Decimal("1.5")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("No numbers here, only 1969.", None),
        ("It is 1,5 km long.", True),
        ("It costs 1.234,50 euros.", True),
        ("It has 1,500 people.", False),
        ("It has 7,000,000 people.", False),
        ("It cost 1,234.5 dollars.", False),
        ("Counting 1,2,3 is not a decimal.", None),
    ],
)
def test_uses_decimal_comma(text: str, expected: bool | None) -> None:
    assert uses_decimal_comma(text) is expected


@pytest.mark.parametrize(
    ("source", "rewrite"),
    [
        ("7 million people", "7,000,000 people"),
        ("7,000,000 people", "seven million people"),
        ("7m people", "7 million people"),
        ("a 330-metre tower", "a tower 330 m tall"),
        ("330 metres", "330 meters"),
        ("1.5 billion", "1,500,000,000"),
        ("50%", "fifty per cent"),
        ("twenty percent", "20%"),
        ("3 km", "three kilometres"),
        ("20 July 1969", "July 20, 1969"),
        ("July 20, 1969", "1969-07-20"),
        ("in the year 1969", "in 1969"),
        ("at 20:18", "at 8:18 p.m."),
        ("the 21st century", "the twenty-first century"),
        ("it took an hour", "it took 1 hour"),
        ("he tried twice", "he tried 2 times"),
        ("in the 80's", "in the 1980s"),
        ("It can seat 98.772 people.", "It can seat 98,772 people."),
        ("Die Strecke ist 1,5 km lang.", "The route is 1.5 km long."),
    ],
)
def test_check_equivalent_forms(source: str, rewrite: str) -> None:
    result = check_numbers(source, rewrite)
    assert result.missing == []
    assert result.added == []
    assert result.ok


def test_check_faithful_paraphrase() -> None:
    source = (
        "In the year 1969, 7,000,000 people lived in the region. Twenty percent of them were "
        "children, and the nearest tower, 330 metres tall, stood 3 km away. The mission "
        "landed on July 20, 1969, at 20:18 UTC."
    )
    rewrite = (
        "Seven million people lived in the region in 1969, and 20% were children. The closest "
        "tower was three kilometres away and 330 m high. The landing came on 20 July 1969 at "
        "20:18."
    )
    result = check_numbers(source, rewrite)
    assert result.missing == []
    assert result.added == []


def test_check_changed_year() -> None:
    result = check_numbers("The bridge opened in 1969.", "The bridge opened in 1970.")
    assert result.missing == ["1969"]
    assert result.added == ["1970"]
    assert not result.ok


def test_check_changed_digit() -> None:
    result = check_numbers("It is 330 metres tall.", "It is 380 metres tall.")
    assert result.missing == ["330 metres"]
    assert result.added == ["380 metres"]


def test_check_changed_date_day() -> None:
    result = check_numbers("It landed on 20 July 1969.", "It landed on July 21, 1969.")
    assert result.missing == ["20 July 1969"]
    assert result.added == ["July 21, 1969"]


def test_check_changed_scale() -> None:
    result = check_numbers("7 million people", "7 billion people")
    assert result.missing == ["7 million"]
    assert result.added == ["7 billion"]


def test_check_changed_unit() -> None:
    result = check_numbers("The lake is 3 km wide.", "The lake is 3 miles wide.")
    assert result.missing == ["3 km"]
    assert result.added == ["3 miles"]


def test_check_changed_number_word() -> None:
    result = check_numbers("She had seven brothers.", "She had eight brothers.")
    assert result.missing == ["seven"]
    assert result.added == ["eight"]


def test_check_added_number() -> None:
    result = check_numbers("The town grew quickly.", "The town grew to 12,000 people.")
    assert result.missing == []
    assert result.added == ["12,000"]


def test_check_dropped_number() -> None:
    result = check_numbers("The tower is 330 metres tall.", "The tower is tall.")
    assert result.missing == ["330 metres"]
    assert result.added == []


def test_check_dropped_unit_is_present() -> None:
    result = check_numbers("The tower is 330 metres tall.", "The tower is 330 tall.")
    assert result.missing == []
    assert result.added == []


def test_check_dropped_day_is_missing() -> None:
    result = check_numbers("It landed on 20 July 1969.", "It landed in 1969.")
    assert result.missing == ["20 July 1969"]
    assert result.added == []


def test_check_year_of_date_not_added() -> None:
    result = check_numbers("It landed on 20 July 1969.", "It landed on 20 July 1969, in 1969.")
    assert result.added == []


def test_check_reports_each_value_once() -> None:
    result = check_numbers("In 1969 and again in 1969.", "Later.")
    assert result.missing == ["1969"]


def test_check_european_comma_not_fifteen() -> None:
    result = check_numbers("Die Strecke ist 1,5 km lang.", "The route is 15 km long.")
    assert result.missing == ["1,5 km"]
    assert result.added == ["15 km"]


def test_check_rewrite_follows_source_locale() -> None:
    source = "Der Turm ist 1,5 km entfernt und 2,25 m breit."
    result = check_numbers(source, "Er ist 1,5 km entfernt.")
    assert result.missing == ["2,25 m"]
    assert result.added == []


def test_check_ignores_articles() -> None:
    result = check_numbers("One day a man came.", "Later, someone came.")
    assert result.ok


def test_glued_number_kept_not_added() -> None:
    # A dropped space ("to1948") still states the year; "CO2" is a name, not the number 2.
    assert check_numbers("from 1946 and 1948.", "from 1946 to1948.").ok
    assert check_numbers("It has 2 parts.", "It has CO2 parts.").missing == ["2"]
    assert check_numbers("It ended in 1948.", "It ended in 1948 and restarted in1950.").added == []
