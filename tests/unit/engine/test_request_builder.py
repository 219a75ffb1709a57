"""RequestTemplate: URL/query/headers/body from a row, request_id, placeholders, errors."""

import datetime as dt
import decimal
import pickle

import pytest

from api_etl.engine.errors import RequestBuildError
from api_etl.engine.request_builder import RequestTemplate, canonical_json, make_request_id

ROW = {"id": 42, "name": "Ann Lee/Jr", "age": 31, "vip": True, "city": "Köln", "score": 1.5}


def test_path_placeholders_are_percent_encoded():
    t = RequestTemplate("get", "https://api.example.com/v1/", "people/{name}/x{id}")
    ex = t.build(ROW)
    assert ex.request.method == "GET"
    assert ex.request.url == "https://api.example.com/v1/people/Ann%20Lee%2FJr/x42"


def test_absolute_path_replaces_base_url():
    t = RequestTemplate("POST", "https://api.example.com/v1", "https://other.example.com/p/{id}")
    assert t.build(ROW).request.url == "https://other.example.com/p/42"


def test_query_literals_and_placeholders_and_null_omitted():
    t = RequestTemplate("GET", "https://h", "/s", query={"q": "{name}", "v": "2", "x": "a-{age}",
                                                        "opt": "{missing_ok}"})
    ex = t.build({**ROW, "missing_ok": None})
    assert ex.request.params == {"q": "Ann Lee/Jr", "v": "2", "x": "a-31"}


def test_headers_static_and_from_row():
    t = RequestTemplate("GET", "https://h", headers={"Accept": "application/json",
                                                      "X-Who": "{name}"})
    assert t.build(ROW).request.headers == {"Accept": "application/json", "X-Who": "Ann Lee/Jr"}


def test_body_mapping_with_dotted_nesting_keeps_types():
    t = RequestTemplate("POST", "https://h", body_mapping={"patient.id": "id", "patient.vip": "vip",
                                                          "meta.score": "score", "city": "city"})
    assert t.build(ROW).request.json_body == {
        "patient": {"id": 42, "vip": True}, "meta": {"score": 1.5}, "city": "Köln"}


def test_body_mapping_conflicts_rejected():
    with pytest.raises(ValueError, match="conflicts"):
        RequestTemplate("POST", "https://h", body_mapping={"a": "id", "a.b": "age"})
    with pytest.raises(ValueError, match="not both"):
        RequestTemplate("POST", "https://h", body_mapping={"a": "id"}, body_template={"a": 1})


def test_body_template_exact_placeholder_is_typed_else_text():
    template = {"id": "{id}", "vip": "{vip}", "label": "{name} ({age})", "fixed": 3,
                "list": ["{age}", "x{id}"], "none": "{nothing}", "text_none": "n={nothing}"}
    t = RequestTemplate("POST", "https://h", body_template=template)
    body = t.build({**ROW, "nothing": None}).request.json_body
    assert body == {"id": 42, "vip": True, "label": "Ann Lee/Jr (31)", "fixed": 3,
                    "list": [31, "x42"], "none": None, "text_none": "n="}
    template["fixed"] = 99  # the template keeps its own copy
    assert t.build({**ROW, "nothing": 1}).request.json_body["fixed"] == 3


def test_spark_types_are_json_safe():
    from pyspark.sql import Row

    row = {"d": decimal.Decimal("12.50"), "i": decimal.Decimal("7"),
           "ts": dt.datetime(2024, 1, 2, 3, 4, 5), "day": dt.date(2024, 1, 2),
           "nested": Row(a=1, b="x"), "nan": float("nan"), "b": b"\x00\x01"}
    t = RequestTemplate("POST", "https://h", body_mapping={k: k for k in row})
    assert t.build(row).request.json_body == {
        "d": 12.5, "i": 7, "ts": "2024-01-02T03:04:05", "day": "2024-01-02",
        "nested": {"a": 1, "b": "x"}, "nan": None, "b": "AAE="}


def test_missing_column_is_a_request_build_error_naming_it():
    t = RequestTemplate("POST", "https://h", "/p/{id}", body_mapping={"x": "absent"},
                        id_column="id")
    with pytest.raises(RequestBuildError, match="'absent'"):
        t.build(ROW)
    with pytest.raises(RequestBuildError, match="'id'.*null"):
        t.build({**ROW, "id": None})
    t2 = RequestTemplate("GET", "https://h", "/p/{age}")
    with pytest.raises(RequestBuildError, match="'age'.*URL path.*null"):
        t2.build({"age": None})
    with pytest.raises(RequestBuildError, match="'ident'.*id_column"):
        RequestTemplate("GET", "https://h", id_column="ident").build(ROW)


def test_request_id_deterministic_and_sensitive():
    t = RequestTemplate("POST", "https://h", "/p/{id}", query={"b": "2", "a": "{age}"},
                        body_mapping={"n": "name"}, id_column="id")
    first = t.build(ROW)
    again = pickle.loads(pickle.dumps(t)).build(dict(ROW))
    assert first.request_id == again.request_id and len(first.request_id) == 32
    assert int(first.request_id, 16) >= 0
    assert first.row_id == "42"
    # a fixed expected value: same across processes and runs
    expected = make_request_id("42", "POST", "https://h/p/42", {"a": "31", "b": "2"},
                               '{"n":"Ann Lee/Jr"}')
    assert first.request_id == expected
    ids = {
        t.build({**ROW, "name": "Bob"}).request_id,  # body changed
        t.build({**ROW, "age": 32}).request_id,  # query changed
        RequestTemplate("PUT", "https://h", "/p/{id}", query={"b": "2", "a": "{age}"},
                        body_mapping={"n": "name"}, id_column="id").build(ROW).request_id,
        t.build({**ROW, "id": 43}).request_id,  # id (and URL) changed
        first.request_id,
    }
    assert len(ids) == 5


def test_request_id_ignores_query_order_and_body_key_order():
    a = RequestTemplate("POST", "https://h", query={"x": "1", "y": "2"},
                        body_template={"p": 1, "q": "{id}"}, id_column="id")
    b = RequestTemplate("POST", "https://h", query={"y": "2", "x": "1"},
                        body_template={"q": "{id}", "p": 1}, id_column="id")
    assert a.build(ROW).request_id == b.build(ROW).request_id


def test_request_id_canonical_body_compact_sorted():
    import hashlib

    t = RequestTemplate("POST", "https://h", body_template={"b": 1, "a": "{id}"}, id_column="id")
    raw = "\x1f".join(["42", "POST", "https://h", '{"a":42,"b":1}'])
    assert t.build(ROW).request_id == hashlib.sha256(raw.encode()).hexdigest()[:32]


@pytest.mark.parametrize("value", ["42", "Zoë/東京 ✓", "x" * 5000])
def test_request_id_is_sha256_of_the_request_for_any_text(value):
    import hashlib

    t = RequestTemplate("POST", "https://h", path="/p/{id}", body_template={"v": "{id}"}, id_column="id")
    exchange = t.build({"id": value})
    raw = "\x1f".join([value, "POST", exchange.request.url, canonical_json({"v": value})])
    assert exchange.request_id == hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def _has_builtin_sha256() -> bool:
    import importlib.util

    return any(importlib.util.find_spec(name) is not None for name in ("_sha2", "_sha256"))


@pytest.mark.skipif(not _has_builtin_sha256(), reason="an interpreter built without CPython's own SHA-256")
def test_request_id_hashes_without_openssl_when_the_interpreter_has_its_own_sha256():
    # hashlib's OpenSSL sha256 cost ~9 us per row next to the socket work (docs/performance.md).
    import hashlib

    from api_etl.engine import request_builder

    assert request_builder._sha256 is not hashlib.sha256
    assert request_builder._sha256(b"abc").hexdigest() == hashlib.sha256(b"abc").hexdigest()


def test_idempotency_header_carries_request_id():
    t = RequestTemplate("POST", "https://h", id_column="id", idempotency_header="Idempotency-Key")
    ex = t.build(ROW)
    assert ex.request.headers["Idempotency-Key"] == ex.request_id


def test_placeholders_and_referenced_columns():
    t = RequestTemplate("POST", "https://h", "/a/{p1}", headers={"H": "{h1}", "S": "static"},
                        query={"q": "{q1}", "l": "lit", "odd": "{not valid}"},
                        body_template={"x": ["{b1}", "t-{b2}"], "y": 1}, id_column="id")
    assert t.placeholders() == {"p1", "h1", "q1", "b1", "b2"}
    assert t.referenced_columns() == {"p1", "h1", "q1", "b1", "b2", "id"}
    m = RequestTemplate("POST", "https://h", body_mapping={"a.b": "c1", "d": "c2"})
    assert m.placeholders() == {"c1", "c2"}


def test_template_pickles_and_is_hashable():
    t = RequestTemplate("POST", "https://h", "/a/{id}", headers={"A": "b"},
                        body_mapping={"x": "id"})
    t.build(ROW)  # compiles lazily
    copy = pickle.loads(pickle.dumps(t))
    assert copy == t and hash(copy) == hash(t)
    assert copy.build(ROW).request.url == "https://h/a/42"
    assert t.display_url() == "https://h/a/{id}"


@pytest.mark.parametrize("value", ["row-0000000001", "A.b_c~d-9", "", "a/b", "a b", "50%", "Zoë", "東京", "x\n", "-", "?&=#"])
def test_path_values_are_encoded_exactly_as_quote_with_nothing_safe(value):
    from urllib.parse import quote

    t = RequestTemplate("GET", "https://h", path="/p/{v}")
    assert t.build({"v": value}).request.url == "https://h/p/" + quote(value, safe="")
