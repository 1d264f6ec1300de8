"""The typed service seams: web dependencies, the semantic source behind the CLI and demo loader,
and the cached core lookups keeping their signature."""

from __future__ import annotations

import inspect
import typing

import pytest
from fastapi.testclient import TestClient

from tongxin.core import industries, regions
from tongxin.demo.load import load_demo_vectors
from tongxin.services import Exchange
from tongxin.services.accounts import Accounts
from tongxin.services.contacts import Contacts
from tongxin.services.contracts import Contracts
from tongxin.services.deals import Deals
from tongxin.services.hybrid import NoSemantic
from tongxin.services.listings import Listings
from tongxin.services.stats import Statistics
from tongxin.storage.db import Database
from tongxin.web import deps
from tongxin.web.app import create_app

DEPS = {deps.ExchangeDep: Exchange, deps.AccountsDep: Accounts, deps.ListingsDep: Listings, deps.ContactsDep: Contacts,
        deps.DealsDep: Deals, deps.ContractsDep: Contracts, deps.StatisticsDep: Statistics}


@pytest.mark.parametrize("dep", list(DEPS), ids=lambda d: typing.get_args(d)[0].__name__)
def test_each_service_dependency_is_typed_and_resolved_on_the_event_loop(dep: object) -> None:
    service_type, marker = typing.get_args(dep)
    assert service_type is DEPS[dep]  # type: ignore[index]
    # a plain-def dependency would be run in FastAPI's thread pool: one thread hop per request
    assert inspect.iscoroutinefunction(marker.dependency)
    assert typing.get_type_hints(marker.dependency)["return"] is service_type


def test_the_dependencies_hand_routes_the_services_the_app_built(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ex = Exchange(Database("sqlite:///" + str(tmp_path / "t.db")), str(tmp_path / "idx"), semantic=NoSemantic())
    ex.init_db()
    app = create_app(ex)
    try:
        with TestClient(app) as client:
            assert client.get("/").status_code == 200  # home: ListingsDep + ExchangeDep
            assert client.get("/api/v1/kinds").status_code == 200  # ExchangeDep
        assert isinstance(app.state.listings, Listings) and app.state.listings.ex is ex
        assert isinstance(app.state.accounts, Accounts) and isinstance(app.state.contacts, Contacts)
        assert all(svc.ex is ex for svc in (app.state.deals, app.state.contracts))
        assert isinstance(app.state.statistics, Statistics) and app.state.statistics.db is ex.db
    finally:
        ex.close()


def test_demo_vectors_with_semantic_matching_off_store_and_queue_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # before: AttributeError ('NoSemantic' object has no attribute 'preload')
    ex = Exchange(Database("sqlite:///" + str(tmp_path / "t.db")), str(tmp_path / "idx"), semantic=NoSemantic())
    ex.init_db()
    try:
        assert load_demo_vectors(ex) == {"stored": 0, "queued": 0}
    finally:
        ex.close()


def test_cached_lookups_keep_their_answers_and_can_be_cleared() -> None:
    before = regions.label("120116")
    assert before == regions.label(120116) and "滨海新区" in before
    assert regions.label(["not", "hashable"]) == regions.normalise(["not", "hashable"])  # computed without the cache
    regions.label.cache_clear()
    industries.label.cache_clear()
    assert regions.label("120116") == before
    assert industries.label("C37").startswith("C37 ")
