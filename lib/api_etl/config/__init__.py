"""Typed configuration: models, reference resolution, loading and validation."""

from api_etl.config.errors import ConfigError, ConfigIssue  # noqa: F401
from api_etl.config.loader import LoadedConfig, load_config, validate_document  # noqa: F401
from api_etl.config.pipeline import PipelineConfig  # noqa: F401
