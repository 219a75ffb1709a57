import asyncio

import pytest

from api_etl.middleware.chain import compose
from api_etl.middleware.json_body import JsonBodyMiddleware
from tests.unit.engine.fakes import ScriptedTransport, exchange, response, terminal

JSON = {"Content-Type": "application/json; charset=utf-8"}


def run(resp, required=False):
    mw = JsonBodyMiddleware(required=required)
    return asyncio.run(compose([mw], terminal(ScriptedTransport([resp])))(exchange()))


def test_parses_json_content_type():
    ex = run(response(200, b'{"id": 7, "tags": ["a"]}', JSON))
    assert ex.parsed_body == {"id": 7, "tags": ["a"]} and ex.ok


def test_problem_json_content_type_is_json():
    ex = run(response(404, b'{"title": "nope"}', {"content-type": "application/problem+json"}))
    assert ex.parsed_body == {"title": "nope"}


def test_non_json_content_type_left_alone_unless_required():
    ex = run(response(200, b"[1, 2]", {"Content-Type": "text/plain"}))
    assert ex.parsed_body is None and ex.ok
    ex = run(response(200, b"[1, 2]", {"Content-Type": "text/plain"}), required=True)
    assert ex.parsed_body == [1, 2]


def test_malformed_json_on_2xx_fails_row_when_required():
    ex = run(response(200, b'{"id": 7,', JSON), required=True)
    assert not ex.ok
    assert ex.error_type == "InvalidJsonResponse"
    assert "not valid JSON" in ex.error_message and '"id"' not in ex.error_message


def test_malformed_json_not_required_only_noted():
    ex = run(response(200, b"<html>", JSON))
    assert ex.ok and ex.parsed_body is None and "json_error" in ex.metadata


def test_malformed_json_on_error_status_does_not_change_error_type():
    ex = run(response(500, b"<html>oops", JSON), required=True)
    assert ex.error_type is None and ex.status == 500


@pytest.mark.parametrize(("status", "failed"), [(200, True), (204, False)])
def test_empty_body(status, failed):
    ex = run(response(status, b"", JSON), required=True)
    assert (ex.error_type == "InvalidJsonResponse") is failed


def test_no_response_is_passed_through():
    from api_etl.transport.base import TransportTimeout

    mw = JsonBodyMiddleware(required=True)
    call = compose([mw], terminal(ScriptedTransport([TransportTimeout("t")])))
    ex = asyncio.run(call(exchange()))
    assert ex.error_type is None and isinstance(ex.error, TransportTimeout)


_BODIES = [
    b'{"id": 7, "tags": ["a"], "x": 1.5e3, "n": null, "t": true}',
    b'  [1, -0, 0.1, 1e400, "\\u00e9\\ud83d\\ude00"]  ',
    b'{"a": 1, "a": 2}',  # duplicate keys: the last wins
    b'{"v": NaN, "w": -Infinity}',  # json's extension, which orjson rejects
    b'{"big": 123456789012345678901234567890, "neg": -9223372036854775809}',  # beyond 64 bits
    b'{"max": 9223372036854775807, "u": 18446744073709551615, "f": 0.1234567890123456789}',
    b'"\\ud800"',  # a lone surrogate
    b'\xef\xbb\xbf{"bom": 1}',  # UTF-8 BOM
    '{"utf16": 1}'.encode("utf-16"),
    "{\"k\": \"Zoë 東京\"}".encode(),
    b"42",
]
_BAD = [b'{"a": 1,}', b'{"a": "\x01"}', b"\xff\xfe\xfa", b"[1, 2", b"nul"]


@pytest.mark.parametrize("body", _BODIES)
def test_loads_gives_what_json_gives(body):
    import json
    import math

    from api_etl.middleware.json_body import loads

    got, want = loads(body), json.loads(body)
    assert json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True)
    if isinstance(want, dict) and "v" in want:
        assert math.isnan(got["v"]) and got["w"] == -math.inf


@pytest.mark.parametrize("body", _BAD)
def test_loads_rejects_what_json_rejects_with_json_s_error(body):
    import json

    from api_etl.middleware.json_body import loads

    with pytest.raises((ValueError, UnicodeDecodeError)) as ours:
        loads(body)
    with pytest.raises((ValueError, UnicodeDecodeError)) as theirs:
        json.loads(body)
    assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)


def test_loads_uses_orjson_when_installed():
    # It is a dependency of the package; json alone cost ~8 us more per row (docs/performance.md).
    from api_etl.middleware import json_body

    assert json_body.orjson is not None
