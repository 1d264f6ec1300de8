"""The kind registry: every resource kind is declared once here and used everywhere."""

from .registry import KindSpec, Registry, default_registry

__all__ = ["KindSpec", "Registry", "default_registry"]
