"""Where rows come from, where results go, and where run state is kept."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt, model_validator

from api_etl.config.base import StrictModel

FileFormat = Literal["parquet", "jsonl", "csv"]


class CatalogTable(StrictModel):
    """A Glue Data Catalog table (``database.table``)."""

    database: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$")
    table: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$")

    @property
    def identifier(self) -> str:
        return f"{self.database}.{self.table}"


def _legacy_table(data: dict) -> dict:
    """Accept the seed's ``name`` + ``namespace`` form (``namespace`` = [catalog.]database)."""
    if "name" in data or "namespace" in data:
        data = dict(data)
        name = data.pop("name", None)
        namespace = data.pop("namespace", None)
        if "table" in data:
            raise ValueError("give either 'table' or 'name'/'namespace', not both")
        if not name or not namespace:
            raise ValueError("'name' and 'namespace' go together (namespace = Glue database)")
        database = str(namespace).split(".")[-1]
        data["table"] = {"database": database, "table": name}
    return data


class SourceConfig(StrictModel):
    """Rows to send: files under a path, or a catalog table, or a DataFrame given at run time."""

    path: str | None = Field(None, description="Local path or s3:// prefix of the input files.")
    format: FileFormat = "parquet"
    options: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Spark reader options; CSV defaults to header=true."
    )
    table: CatalogTable | None = None
    id_column: str = Field(min_length=1, description="Unique, non-null id of each row.")
    required_columns: list[str] = Field(default_factory=list)
    duplicate_ids: Literal["fail", "keep_first"] = "fail"

    @model_validator(mode="before")
    @classmethod
    def _accept_name_namespace(cls, data: object) -> object:
        return _legacy_table(data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _at_most_one_location(self) -> SourceConfig:
        if self.path is not None and self.table is not None:
            raise ValueError("give exactly one of source.path or source.table, not both")
        return self

    @property
    def columns_known(self) -> set[str]:
        return {self.id_column, *self.required_columns}

    def describe(self) -> str:
        if self.path is not None:
            return f"{self.format} files under {self.path}"
        if self.table is not None:
            return f"catalog table {self.table.identifier}"
        return "a DataFrame passed at run time"


class SinkConfig(StrictModel):
    """The bronze table: parquet partitioned by run and batch, plus a dead-letter prefix."""

    path: str | None = Field(None, description="Local path or s3:// prefix of the bronze table.")
    format: Literal["parquet"] = "parquet"
    mode: Literal["append"] = Field(
        "append", description="Runs append; a rerun overwrites only its own batch slots."
    )
    dead_letter_path: str | None = Field(
        None, description="Failed rows with their source row; default: <path>_dead_letter."
    )
    passthrough_columns: list[str] = Field(default_factory=list)
    table: CatalogTable | None = Field(None, description="Register the sink in the Glue catalog.")
    max_response_bytes: PositiveInt = Field(
        1_000_000, description="Longer response bodies are truncated in the sink."
    )

    @model_validator(mode="before")
    @classmethod
    def _accept_name_namespace(cls, data: object) -> object:
        return _legacy_table(data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _has_location(self) -> SinkConfig:
        if self.path is None and self.table is None:
            raise ValueError("give sink.path, or sink.table to write at the table's location")
        return self

    @property
    def dead_letter(self) -> str | None:
        if self.dead_letter_path is not None:
            return self.dead_letter_path
        return None if self.path is None else self.path.rstrip("/") + "_dead_letter"


class CheckpointConfig(StrictModel):
    path: str | None = Field(
        None, description="Run manifests, staged batches, batch checkpoints; default <sink>_checkpoints."
    )
    force_config_change: bool = Field(
        False, description="Resume a run although its config hash changed (use with care)."
    )
