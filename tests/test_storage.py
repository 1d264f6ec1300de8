"""Storage: migrations match the models, transactions are all-or-nothing, the change log records writes."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from factories import ORGS, load, tech
from sqlalchemy import func, inspect, select

from tongxin.core.listing import validate_listing
from tongxin.core.organisation import validate_organisation
from tongxin.services import Exchange
from tongxin.storage import repo
from tongxin.storage.db import Database
from tongxin.storage.migrate import downgrade, upgrade
from tongxin.storage.models import ListingChangeRow, ListingRow, OrganisationRow
from tongxin.storage.schema import Base


def test_migrations_match_models(db: Database) -> None:
    upgrade(db.engine)
    with db.engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(mc, Base.metadata)
    assert diff == [], f"models and migrations drift: {diff}"


def test_downgrade_and_upgrade_again(db: Database) -> None:
    upgrade(db.engine)
    downgrade(db.engine, "base")
    assert "listings" not in inspect(db.engine).get_table_names()
    upgrade(db.engine)
    assert {"organisations", "listings", "listing_changes"} <= set(inspect(db.engine).get_table_names())


def test_transaction_rolls_back_everything(exchange: Exchange) -> None:
    with pytest.raises(RuntimeError), exchange.db.transaction() as s:
        repo.upsert_organisation(s, validate_organisation(ORGS[0]))
        raise RuntimeError("boom")
    with exchange.db.transaction(write=False) as s:
        assert s.scalar(select(func.count()).select_from(OrganisationRow)) == 0


def test_reimport_updates_and_logs_changes(exchange: Exchange) -> None:
    ids = load(exchange)
    with exchange.db.transaction(write=False) as s:
        n_before = s.scalar(select(func.count()).select_from(ListingRow))
        changes_before = s.scalar(select(func.count()).select_from(ListingChangeRow))
    row = tech("T-CBTC", "基于通信的列车控制系统（CBTC）第二版", "更新后的描述。", "CBTC")
    with exchange.db.transaction() as s:
        r, created = repo.upsert_listing(s, validate_listing(row, exchange.registry), exchange.registry)
    assert created is False and r.id == ids["T-CBTC"]
    with exchange.db.transaction(write=False) as s:
        assert s.scalar(select(func.count()).select_from(ListingRow)) == n_before
        assert s.scalar(select(func.count()).select_from(ListingChangeRow)) == changes_before + 1
        got = repo.get_listing(s, ids["T-CBTC"], exchange.registry)
    assert got.title.endswith("第二版") and got.attrs["trl"] == 7


def test_listing_attrs_round_trip_types(exchange: Exchange) -> None:
    ids = load(exchange)
    x, _ = exchange.get(ids["S-WQ"])
    assert x.attrs["required_trl"] == 6 and x.attrs["budget_max"] == 400
    t, _ = exchange.get(ids["T-CBTC"])
    assert t.attrs["transfer_modes"] == ["license", "co_develop"]
    assert t.valid_until is not None and t.valid_until.year == 2030
