"""Reading a scan's input: comments, IDNs, duplicates, invalid and endless lines."""

from __future__ import annotations

import io

import pytest

from mxtls.bulk import seen as seen_module
from mxtls.bulk.input import MAX_LINE_CHARS, DomainReader
from mxtls.bulk.seen import DigestSet
from mxtls.engine.exclude import parse_exclusions
from mxtls.errors import ConfigError
from mxtls.exclusions import Exclusions


def read(text: str, exclude: Exclusions | None = None) -> tuple[list[str], DomainReader]:
    reader = DomainReader(DigestSet(), exclude)
    names = [d.name for d in reader.read(io.StringIO(text))]
    return names, reader


def test_comments_blank_lines_idns_and_duplicates() -> None:
    text = (
        "# a list of domains\n"
        "\n"
        "Example.COM.\n"
        "bücher.example   # an IDN, checked as its A-label\n"
        "example.com\n"
        "xn--bcher-kva.example\n"
        "  other.example  \r\n"
    )
    names, reader = read(text)
    assert names == ["example.com", "xn--bcher-kva.example", "other.example"]
    assert reader.counts.duplicates == 2
    assert reader.counts.invalid == 0
    assert reader.counts.lines == 7


def test_invalid_lines_are_reported_not_fatal() -> None:
    seen: list[tuple[int, str]] = []
    reader = DomainReader(DigestSet())
    reader.on_invalid = lambda item: seen.append((item.line, item.text))
    text = "good.example\nnot a domain\n192.0.2.1\nlocalhost\nfine.example\n"
    names = [d.name for d in reader.read(io.StringIO(text))]
    assert names == ["good.example", "fine.example"]
    assert seen == [(2, "not a domain"), (3, "192.0.2.1"), (4, "localhost")]
    assert reader.counts.invalid == 3


def test_a_line_without_end_is_read_in_bounded_pieces() -> None:
    text = "a.example\n" + "x" * (50 * MAX_LINE_CHARS) + "\nb.example\n"
    names, reader = read(text)
    assert names == ["a.example", "b.example"]
    assert reader.counts.invalid == 1
    assert reader.counts.invalid_examples[0].text.endswith("…")


def test_excluded_domains_are_dropped_with_their_subdomains() -> None:
    exclude = parse_exclusions(["optout.example  # asked us", "192.0.2.0/24"])
    names, reader = read("a.optout.example\noptout.example\nkept.example\n", exclude)
    assert names == ["kept.example"]
    assert reader.counts.excluded == 2


def test_exclusion_list_parses_names_addresses_and_ranges() -> None:
    exclude = parse_exclusions(["# opt-outs", "Bücher.example", "192.0.2.7", "2001:db8::/32", ""])
    assert exclude.host("mx1.xn--bcher-kva.example") is not None
    assert exclude.host("xn--bcher-kva.example.org") is None
    assert exclude.address("192.0.2.7") is not None
    assert exclude.address("192.0.2.8") is None
    assert exclude.address("2001:db8:1::25") is not None
    assert exclude.address("2001:db9::25") is None
    with pytest.raises(ConfigError, match="line 2"):
        parse_exclusions(["ok.example", "not an entry"])


def test_digest_set_survives_merges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seen_module, "MERGE_MIN", 16)
    names = DigestSet()
    added = [names.add(f"d{i}.example") for i in range(1000)]
    assert all(added)
    assert len(names) == 1000
    assert not any(names.add(f"D{i}.example.") for i in range(1000))
    assert "d999.example" in names and "d1000.example" not in names
    assert names.collisions_possible < 1e-12
