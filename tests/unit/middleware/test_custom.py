"""Custom middleware by dotted path: both path forms, and errors that name the path."""

import asyncio
import pickle
import textwrap

import pytest

from api_etl.engine.errors import MiddlewareConfigError
from api_etl.middleware.base import MiddlewareContext
from api_etl.middleware.chain import compose
from api_etl.middleware.custom import CustomFactory, resolve_path
from api_etl.middleware.registry import BUILTIN_FACTORIES, middleware_factory
from api_etl.engine.terminal import TransportCall
from tests.unit.engine.fakes import ScriptedTransport, exchange

MODULE = textwrap.dedent(
    """
    class AddTenant:
        def __init__(self, options):
            self.tenant = options["tenant"]

        async def __call__(self, exchange, next_call):
            exchange.request.headers["X-Tenant"] = self.tenant
            return await next_call(exchange)

    def make_fn(options):
        async def mw(exchange, next_call):
            exchange.metadata["custom"] = options.get("tag", "none")
            return await next_call(exchange)
        return mw

    class Namespace:
        make = staticmethod(make_fn)

    def make_sync(options):
        def mw(exchange, next_call):
            return next_call(exchange)
        return mw

    def explode(options):
        raise KeyError("missing option")

    async def not_a_factory(exchange, next_call):
        return await next_call(exchange)

    NOT_CALLABLE = 3
    """
)


@pytest.fixture
def custom_module(tmp_path, monkeypatch):
    (tmp_path / "my_custom_mw.py").write_text(MODULE)
    (tmp_path / "broken_custom_mw.py").write_text("raise RuntimeError('import-time failure')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_custom_mw"


def run_with(factory):
    transport = ScriptedTransport()
    mw = factory(MiddlewareContext())
    ex = asyncio.run(compose([mw], TransportCall(transport))(exchange()))
    return ex, transport


@pytest.mark.parametrize("path", ["my_custom_mw:AddTenant", "my_custom_mw.AddTenant"])
def test_class_factory_both_path_forms(custom_module, path):
    ex, transport = run_with(CustomFactory(path, {"tenant": "acme"}))
    assert transport.requests[0].headers["X-Tenant"] == "acme"


@pytest.mark.parametrize("path", ["my_custom_mw:make_fn", "my_custom_mw:Namespace.make"])
def test_function_factory(custom_module, path):
    ex, _ = run_with(CustomFactory(path, {"tag": "t1"}))
    assert ex.metadata["custom"] == "t1"


@pytest.mark.parametrize(
    ("path", "fragment"),
    [("no_such_module_xyz:make", "module not found"),
     ("my_custom_mw:missing", "no attribute"),
     ("my_custom_mw:NOT_CALLABLE", "not a factory"),
     ("my_custom_mw:make_sync", "not an async callable"),
     ("my_custom_mw:explode", "factory raised KeyError"),
     ("my_custom_mw:not_a_factory", "is an async function"),
     ("broken_custom_mw:make", "import-time failure"),
     ("justaname", "must look like"),
     ("", "empty")],
)
def test_errors_name_the_path(custom_module, path, fragment):
    factory = CustomFactory(path, {})
    with pytest.raises(MiddlewareConfigError) as info:
        factory.validate()
    assert fragment in str(info.value)
    if path:
        assert repr(path) in str(info.value)


def test_factory_pickles_and_registry(custom_module):
    factory = middleware_factory("custom", path="my_custom_mw:AddTenant", options={"tenant": "x"})
    copy = pickle.loads(pickle.dumps(factory))
    assert copy == factory
    assert resolve_path("my_custom_mw:AddTenant").__name__ == "AddTenant"


def test_registry_builds_every_builtin_and_rejects_unknown():
    from tests.unit.engine.fakes import FakeAuth

    ctx = MiddlewareContext(auth=FakeAuth())
    for name in BUILTIN_FACTORIES:
        if name == "custom":
            continue
        factory = middleware_factory(name)
        assert pickle.loads(pickle.dumps(factory)) == factory
        assert callable(factory(ctx))
    with pytest.raises(ValueError, match="unknown middleware type 'nope'"):
        middleware_factory("nope")
