"""Importing and exporting files: `fileio` reads a file and validates its rows into core objects
and row errors (and writes files); these use cases check the rows against the database and write
them in one transaction, or read what an export writes.

All or nothing by default: one error anywhere (in the file or against the database) writes
nothing. `skip_invalid` writes the valid rows and puts the errors in a CSV report.
Re-importing the same external ids (listings), credit codes (organisations) or contract numbers
updates instead of duplicating.

Alerts: every listing the import publishes (new and published, or an existing one whose status turns
to published) enters the alerts outbox in the same transaction, as `Exchange.save_listing` does for one
listing; rows that fail (skip_invalid) or an import that fails as a whole leave no event. An update of
a listing that was already published is not announced again (re-importing a file stays quiet).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.clock import local_today
from ..core.errors import FieldError, Message, ValidationError
from ..core.kinds.registry import Registry
from ..core.listing import Listing
from ..fileio.contracts import check_contracts_path, parse_contract_file, write_contracts
from ..fileio.exporter import export_data
from ..fileio.importer import parse_file, write_error_report
from ..storage import alerts_repo as AR
from ..storage import deals_repo as R
from ..storage import repo
from ..storage.db import Database
from .alerts import TOPIC_PUBLISHED
from .contracts import contract_rows, resolve

Progress = Callable[[int, int], None]
BULK_CHUNK = 2000


@dataclass
class ImportReport:
    organisations_created: int = 0
    organisations_updated: int = 0
    listings_created: int = 0
    listings_updated: int = 0
    errors: list[FieldError] = field(default_factory=list)
    error_report: str | None = None
    ignored_columns: list[str] = field(default_factory=list)  # "sheet: header", skipped on request

    @property
    def imported(self) -> int:
        return self.organisations_created + self.organisations_updated + self.listings_created + self.listings_updated


def _nothing_imported(errors: list[FieldError]) -> ValidationError:
    n = len(errors)
    return ValidationError(Message(f"文件中有 {n} 处错误，未导入任何数据", f"{n} error(s) in the file; nothing was imported"), errors)


def import_file(db: Database, registry: Registry, path: str, skip_invalid: bool = False,
                progress: Progress | None = None, report_path: str | None = None,
                ignore_unknown_columns: bool = False) -> ImportReport:
    """Import the organisations and listings of a CSV, XLSX or JSON file (`tongxin import`)."""
    ignored: list[str] = []
    orgs, listings, errors = parse_file(path, registry, ignore_unknown_columns, ignored)
    if errors and not skip_invalid:
        raise _nothing_imported(errors)
    rep = ImportReport(ignored_columns=ignored)
    total = len(orgs) + len(listings)
    done = 0
    with db.transaction() as s:
        for rownum, o in orgs:
            try:
                with s.begin_nested():
                    _, created = repo.upsert_organisation(s, o, row=rownum)
                rep.organisations_created += created
                rep.organisations_updated += not created
            except ValidationError as e:
                errors.extend(e.errors)
            done += 1
            if progress and done % 500 == 0:
                progress(done, total)
        listings = _licensed_claims(s, listings, errors)
        # New listings (unknown external ids, first time in the file, owner known) go in with one
        # bulk insert; updates, repeats within the file and numeric owner references row by row.
        owners = repo.owner_ids(s, {x.owner for _, x in listings})
        known = repo.ids_with_external(s, [x.external_id for _, x in listings if x.external_id])
        fresh: list[tuple[int, Listing]] = []
        one_by_one: list[tuple[int, Listing]] = []
        seen: set[str] = set()
        for rownum, x in listings:
            if x.owner not in owners or (x.external_id and (x.external_id in known or x.external_id in seen)):
                one_by_one.append((rownum, x))
            else:
                fresh.append((rownum, x))
            if x.external_id:
                seen.add(x.external_id)
        for i in range(0, len(fresh), BULK_CHUNK):
            chunk = fresh[i : i + BULK_CHUNK]
            ids = repo.bulk_insert_listings(s, [x for _, x in chunk], registry, owners=owners)
            AR.enqueue_many(s, TOPIC_PUBLISHED, [{"listing_id": i} for i, (_, x) in zip(ids, chunk, strict=True)
                                                 if x.status == "published"])
            rep.listings_created += len(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
        for rownum, x in one_by_one:
            try:
                with s.begin_nested():
                    was = _status_before(s, x)
                    r, created = repo.upsert_listing(s, x, registry, row=rownum)
                    if r.status == "published" and was != "published":
                        AR.enqueue(s, TOPIC_PUBLISHED, {"listing_id": r.id})
                rep.listings_created += created
                rep.listings_updated += not created
            except ValidationError as e:
                errors.extend(e.errors)
            done += 1
            if progress and done % 500 == 0:
                progress(done, total)
        if errors and not skip_invalid:
            raise _nothing_imported(errors)
    if progress:
        progress(total, total)
    rep.errors = errors
    if errors and skip_invalid:
        rep.error_report = report_path or (os.path.splitext(path)[0] + ".errors.csv")
        write_error_report(errors, rep.error_report)
    return rep


def _status_before(s: Any, x: Listing) -> str | None:
    """The status of the listing this row updates (by id or external id, as upsert_listing finds it); None when new."""
    from sqlalchemy import select

    if x.id is not None:
        r = s.get(repo.ListingRow, x.id)
        if r is not None:
            return str(r.status)
    if x.external_id:
        st = s.scalar(select(repo.ListingRow.status).where(repo.ListingRow.external_id == x.external_id))
        return None if st is None else str(st)
    return None


def _licensed_claims(s: Any, listings: list[tuple[int, Listing]], errors: list[FieldError]) -> list[tuple[int, Listing]]:
    """The rows whose mark claims hold (certified products need a valid licence); the others' errors go to `errors`."""
    from .certification import claim_errors

    today = local_today()
    out = []
    for rownum, x in listings:
        bad = claim_errors(s, x, today, rownum)
        errors.extend(bad)
        if not bad:
            out.append((rownum, x))
    return out


# -- technology contracts ------------------------------------------------------------------------------
@dataclass
class ContractImportReport:
    created: int = 0
    updated: int = 0
    errors: list[FieldError] = field(default_factory=list)
    error_report: str | None = None

    @property
    def imported(self) -> int:
        return self.created + self.updated


def _no_contract_imported(errors: list[FieldError]) -> ValidationError:
    n = len(errors)
    return ValidationError(Message(f"文件中有 {n} 处错误，未导入任何合同", f"{n} error(s) in the file; no contract was imported"), errors)


def import_contracts(db: Database, path: str, skip_invalid: bool = False, report_path: str | None = None,
                     today: dt.date | None = None) -> ContractImportReport:
    """Import the technology contracts of an XLSX or CSV file (`tongxin contracts import`, the import page)."""
    rows, errors = parse_contract_file(path, today)
    if errors and not skip_invalid:
        raise _no_contract_imported(errors)
    rep = ContractImportReport()
    with db.transaction() as s:
        ok, ref_errors = resolve(s, rows)
        errors = sorted(errors + ref_errors, key=lambda fe: (fe.row or 0, fe.field))
        if errors and not skip_invalid:
            raise _no_contract_imported(errors)
        for _rownum, c, seller, buyer, lids in ok:
            _, created = R.upsert_contract(s, c, seller, buyer, lids)
            rep.created += created
            rep.updated += not created
    rep.errors = errors
    if errors:
        rep.error_report = report_path or (os.path.splitext(path)[0] + ".errors.csv")
        write_error_report(errors, rep.error_report)
    return rep


# -- exports (they re-import as they are) ------------------------------------------------------------------
def export_file(db: Database, registry: Registry, path: str, what: str = "all") -> int:
    """Write every organisation and listing to an XLSX, JSON or CSV file (`tongxin export`); returns the records written."""
    with db.transaction(write=False) as s:
        orgs = repo.list_organisations(s)
        listings = list(repo.iter_listings(s, registry))
    return export_data(path, orgs, listings, registry, what=what)


def export_contracts(db: Database, path: str, year: int | None = None) -> int:
    """Write every technology contract (signed in `year`) in the import layout (`tongxin contracts export`)."""
    check_contracts_path(path)  # before any work
    with db.transaction(write=False) as s:
        rows = contract_rows(s, list(reversed(R.list_contracts(s, year))))
    write_contracts(path, rows)
    return len(rows)
