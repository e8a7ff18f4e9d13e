"""Pydantic models: the JSON contract (observations, findings, report)."""
