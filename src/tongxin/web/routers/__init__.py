"""Feature routers. Each feature adds its module here; `create_app` includes them all."""

from __future__ import annotations

from fastapi import APIRouter


def all_routers() -> list[APIRouter]:
    routers: list[APIRouter] = []
    return routers
