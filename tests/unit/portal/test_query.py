"""The pure query modules: what Orthanc reads back is what the client sent, in both dialects."""

from __future__ import annotations

import random
import string
from urllib.parse import unquote_plus

import pytest
from pacs import qido, scope
from pacs.query import Dialect, QueryRefused, Unrepresentable, encode, parse


def orthanc_reads(query: str, dialect: Dialect) -> list[tuple[str, str]]:
    """How Orthanc turns a query string into arguments (HttpToolbox::ParseGetArguments), after
    civetweb decoded the whole string in place (decode_query_string, ``+`` as a space) or not."""
    if dialect is Dialect.DECODED:
        query = unquote_plus(query)
    return [(f.partition("=")[0], f.partition("=")[2]) for f in query.split("&") if f]


@pytest.mark.parametrize("dialect", list(Dialect))
def test_what_orthanc_reads_is_what_the_client_meant(dialect: Dialect) -> None:
    rng = random.Random(20)
    alphabet = string.ascii_letters + string.digits + string.punctuation + " é한"
    checked = 0
    for _ in range(2000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        pairs = (("PatientName", value), ("limit", "5"))
        try:
            written = encode(pairs, dialect)
        except Unrepresentable:
            assert "&" in value or dialect is Dialect.VERBATIM
            continue
        assert orthanc_reads(written, dialect) == list(pairs), value
        checked += 1
    assert checked > 500


def test_parse_is_strict_and_form_encoded() -> None:
    assert parse("a=b+c&&d=%2B&e=") == (("a", "b c"), ("d", "+"), ("e", ""))
    for bad in ("a=%G0", "a=%C3", "a", "a=%09"):
        with pytest.raises(QueryRefused):
            parse(bad)


def test_search_reads_last_limit_offset_and_patient_id() -> None:
    search = qido.validate(parse("limit=5&limit=7&offset=2&00100020=A&PatientID=B"))
    assert (search.limit, search.offset, search.patient_id) == (7, 2, "B")
    sequence = qido.validate(parse("OtherPatientIDsSequence.PatientID=X"))
    assert sequence.patient_id is None  # a nested PatientID is not the patient's own


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        (None, ["A-1", "A-2", "B-1"]),
        ("", ["A-1", "A-2", "B-1"]),
        ("*", ["A-1", "A-2", "B-1"]),
        ("A-*", ["A-1", "A-2"]),
        ("?-1", ["A-1", "B-1"]),
        ("a-1", []),  # LO matching is case-sensitive
        ("A-1,B-1,Z-9", ["A-1", "B-1"]),  # a list of exact values
        ("A-\\1", ["A-1"]),  # Orthanc's plugin drops backslashes
        ("Z*", []),
    ],
)
def test_client_patient_id_only_narrows(requested: str | None, expected: list[str]) -> None:
    own = {"A-1", "A-2", "B-1", "C*", "D,E"}
    assert scope.candidate_patients(own, requested) == expected
    assert scope.inexpressible(own) == ["C*", "D,E"]


def test_queries_are_chunked_and_carry_no_client_paging() -> None:
    search = qido.validate(parse("PatientName=X*&limit=3&offset=1&PatientID=*&00100020=*"))
    ids = [f"P{n:03}" for n in range(scope.IDS_PER_QUERY + 1)]
    queries = scope.orthanc_queries(search, ids)
    assert [q[:-1] for q in queries] == [(("PatientName", "X*"),)] * 2
    assert queries[0][-1] == ("PatientID", ",".join(ids[: scope.IDS_PER_QUERY]))
    assert queries[1][-1] == ("PatientID", ids[-1])
