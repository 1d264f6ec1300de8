"""Tables for the accounts part of the exchange (declared on the shared Base)."""

from __future__ import annotations

from .models import Base  # noqa: F401
