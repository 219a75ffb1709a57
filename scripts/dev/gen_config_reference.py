"""Write docs/config-reference.md from the pydantic models (one source of truth).

Run: .venv/bin/python scripts/dev/gen_config_reference.py  (tests check it is current)
"""

from __future__ import annotations

import pathlib
import sys
import typing

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from api_etl.config.auth import AuthConfig
from api_etl.config.middleware import MiddlewareConfig
from api_etl.config.pipeline import PipelineConfig

OUT = pathlib.Path(__file__).resolve().parents[2] / "docs" / "config-reference.md"


def _type_name(annotation) -> str:
    text = repr(annotation) if not isinstance(annotation, type) else annotation.__name__
    for noise in ("typing.", "pydantic.types.", "api_etl.config.", "annotated_types.", "<class '", "'>"):
        text = text.replace(noise, "")
    return text.replace("|", "\\|")


def _default(field) -> str:
    if field.default is not PydanticUndefined:
        return f"`{field.default!r}`" if field.default is not None else "none"
    if field.default_factory is not None:
        value = field.default_factory()
        return "defaults" if isinstance(value, BaseModel) else f"`{value!r}`"
    return "**required**"


def _model_rows(model: type[BaseModel], prefix: str, out: list[str], seen: set) -> None:
    nested = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        out.append(f"| `{prefix}{name}` | {_type_name(annotation)} | {_default(field)} | {field.description or ''} |")
        for candidate in typing.get_args(annotation) or (annotation,):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel) and candidate not in seen:
                nested.append((candidate, f"{prefix}{name}."))
    for candidate, sub in nested:
        seen.add(candidate)
        _model_rows(candidate, sub, out, seen)


def _union_members(union) -> list[type[BaseModel]]:
    inner = typing.get_args(union)[0]
    return list(typing.get_args(inner))


def render() -> str:
    out = [
        "# Configuration reference",
        "",
        "Generated from the pydantic models by `scripts/dev/gen_config_reference.py`; do not edit.",
        "Unknown keys and wrong types are errors. Any string may hold `{{secret.SECRET_ID:JSON_KEY}}`",
        "(AWS Secrets Manager) or `{{env.NAME}}`, resolved before validation.",
        "",
    ]
    for section, field in PipelineConfig.model_fields.items():
        if section in ("auth", "middleware"):
            continue
        out += [f"## `{section}`", "", "| field | type | default | meaning |", "| --- | --- | --- | --- |"]
        annotation = field.annotation
        model = next(a for a in (typing.get_args(annotation) or (annotation,)) if isinstance(a, type))
        _model_rows(model, f"{section}.", out, {model})
        out.append("")
    for title, union in (("auth", AuthConfig), ("middleware", MiddlewareConfig)):
        out += [f"## `{title}` (one of, chosen by `type`)", ""]
        for member in _union_members(union):
            kind = member.model_fields["type"].annotation
            out += [f"### `type: {typing.get_args(kind)[0]}`", "", (member.__doc__ or "").strip().splitlines()[0] if member.__doc__ else "", "",
                    "| field | type | default | meaning |", "| --- | --- | --- | --- |"]
            _model_rows(member, f"{title}.", out, {member})
            out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
