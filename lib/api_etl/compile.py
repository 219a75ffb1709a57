"""Compile a validated config into the picklable plan the Spark workers run.

This is the seam between the config layer (pydantic models, SecretStr) and the runtime
layer (plain dataclass factories): secrets are unwrapped here, on the driver, into
factories whose repr never shows them. Everything returned is picklable and hashable, so a
worker process builds one transport and one auth provider and reuses them for every
partition and batch of the job.
"""

from __future__ import annotations

from api_etl.auth.factories import (
    ApiKeyAuthFactory,
    BasicAuthFactory,
    BearerAuthFactory,
    MTLSAuthFactory,
    NoAuthFactory,
    OAuth2ClientCredentialsFactory,
    OAuth2PasswordFactory,
    client_tls_for,
)
from api_etl.config import LoadedConfig, PipelineConfig
from api_etl.config import auth as auth_cfg
from api_etl.config.middleware import CustomMiddleware
from api_etl.engine.plan import WorkerPlan
from api_etl.engine.request_builder import RequestTemplate
from api_etl.middleware.registry import middleware_factory
from api_etl.transport.factory import AiohttpTransportFactory
from api_etl.transport.settings import TransportSettings, WarmupRequest


def _secret(value) -> str | None:
    return None if value is None else value.get_secret_value()


def _mtls(settings) -> MTLSAuthFactory | None:
    if settings is None:
        return None
    return MTLSAuthFactory(
        cert_pem=_secret(settings.cert_pem), key_pem=_secret(settings.key_pem),
        ca_pem=_secret(settings.ca_pem), key_password=_secret(settings.key_password),
    )


def build_auth_factory(config: PipelineConfig):
    auth, transport = config.auth, config.transport
    if isinstance(auth, auth_cfg.NoAuth):
        return NoAuthFactory()
    if isinstance(auth, auth_cfg.BasicAuth):
        return BasicAuthFactory(_secret(auth.username), _secret(auth.password))
    if isinstance(auth, auth_cfg.BearerAuth):
        return BearerAuthFactory(_secret(auth.token))
    if isinstance(auth, auth_cfg.ApiKeyAuth):
        return ApiKeyAuthFactory(auth.name, _secret(auth.value), auth.location)
    if isinstance(auth, auth_cfg.MtlsAuth):
        return _mtls(auth)
    common = dict(
        token_url=auth.token_url, client_id=_secret(auth.client_id),
        client_secret=_secret(auth.client_secret), scope=auth.scope, audience=auth.audience,
        extra_params=tuple(sorted(auth.extra_params.items())),
        client_auth_method=auth.client_auth_method, refresh_margin=auth.refresh_margin_seconds,
        timeout=auth.timeout_seconds, verify_ssl=transport.verify_ssl,
        ca_bundle_pem=transport.ca_bundle_pem, mtls=_mtls(auth.mtls),
    )
    if isinstance(auth, auth_cfg.OAuth2Password):
        return OAuth2PasswordFactory(**common, username=_secret(auth.username), password=_secret(auth.password))
    return OAuth2ClientCredentialsFactory(**common)


def build_transport_factory(config: PipelineConfig, auth_factory) -> AiohttpTransportFactory:
    t = config.transport
    warmup = None
    if t.warmup or t.warmup_url:
        warmup = WarmupRequest(url=t.warmup_url or config.endpoint.base_url, method=t.warmup_method, timeout=t.warmup_timeout)
    settings = TransportSettings(
        total_timeout=t.total_timeout, connect_timeout=t.connect_timeout, read_timeout=t.read_timeout,
        limit=t.tcp_connection.limit, limit_per_host=t.tcp_connection.limit_per_host,
        ttl_dns_cache=t.tcp_connection.ttl_dns_cache, keepalive_timeout=t.tcp_connection.keepalive_timeout,
        verify_ssl=t.verify_ssl, ca_bundle_pem=t.ca_bundle_pem, user_agent=t.user_agent, warmup=warmup,
    )
    return AiohttpTransportFactory(settings, client_tls=client_tls_for(auth_factory))


def build_template(config: PipelineConfig) -> RequestTemplate:
    e = config.endpoint
    body = e.body
    return RequestTemplate(
        method=e.method, base_url=e.base_url, path=e.path,
        headers=tuple(e.headers.items()), query=tuple(e.query_template().items()),
        body_mapping=e.body_mapping(),
        body_template=body.template if body is not None and body.template is not None else None,
        id_column=config.source.id_column, idempotency_header=e.idempotency_header,
    )


def build_middleware(config: PipelineConfig) -> tuple:
    factories = []
    for entry in config.middleware:
        options = entry.model_dump(exclude={"type"})
        factory = middleware_factory(entry.type, **options)
        if isinstance(entry, CustomMiddleware):
            factory.validate()  # import errors surface on the driver, before any request
        factories.append(factory)
    return tuple(factories)


def _sensitive_names(config: PipelineConfig, secret_values: frozenset[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Headers and query parameters whose configured value carries a secret."""

    def carries_secret(value: str) -> bool:
        return any(s and s in value for s in secret_values)

    headers = [k for k, v in config.endpoint.headers.items() if carries_secret(v)]
    params = [k for k, v in config.endpoint.query.items() if carries_secret(v)]
    if isinstance(config.auth, auth_cfg.ApiKeyAuth):
        (params if config.auth.location == "query" else headers).append(config.auth.name)
    return tuple(sorted(set(headers))), tuple(sorted(set(params)))


def build_worker_plan(
    config: PipelineConfig | LoadedConfig,
    *,
    run_id: str | None = None,
    batch_id: str | None = None,
    rate_per_task: float | None = None,
    passthrough: list[str] | tuple[str, ...] = (),
) -> WorkerPlan:
    secrets: frozenset[str] = frozenset()
    if isinstance(config, LoadedConfig):
        config, secrets = config.config, config.secret_values
    auth_factory = build_auth_factory(config)
    headers, params = _sensitive_names(config, secrets)
    return WorkerPlan(
        template=build_template(config),
        transport_factory=build_transport_factory(config, auth_factory),
        auth_factory=None if isinstance(auth_factory, NoAuthFactory) else auth_factory,
        middleware=build_middleware(config),
        concurrency=config.execution.concurrency,
        rate_per_task=rate_per_task,
        queue_size=config.execution.queue_size,
        run_id=run_id,
        batch_id=batch_id,
        passthrough_columns=tuple(passthrough),
        sensitive_headers=headers,
        sensitive_params=params,
        max_response_body_bytes=config.sink.max_response_bytes,
    )
