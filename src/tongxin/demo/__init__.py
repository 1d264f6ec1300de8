"""Deterministic demo data (organisations, technologies, scenarios, expert picks)."""

from .generator import DemoData, generate

__all__ = ["DemoData", "generate"]
