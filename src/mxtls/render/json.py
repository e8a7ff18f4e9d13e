"""JSON rendering of a report (the CLI contract) and its published schema."""

from __future__ import annotations

import json
from typing import Any

from mxtls.models.report import Report


def render_json(report: Report, *, indent: int | None = 2) -> str:
    """The report as one JSON document (``schema`` first, DER as base64)."""
    return report.model_dump_json(by_alias=True, indent=indent)


def report_schema() -> dict[str, Any]:
    """JSON Schema of the report document (``mxtls schema``)."""
    schema = Report.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://mxtls.invalid/schema/mxtls-1.json"
    return schema


def render_schema() -> str:
    """The schema as stable, sorted, indented JSON text."""
    return json.dumps(report_schema(), indent=2, sort_keys=True) + "\n"
