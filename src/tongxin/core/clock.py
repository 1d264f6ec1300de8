"""The exchange's clock: one business day for the whole product, Beijing's.

Listings expire, licences lapse, contracts are dated and deals go idle by the calendar of
the region the exchange serves (China Standard Time, UTC+8, no daylight saving), whatever the
server's own zone. Every "today" in the product comes from `local_today`, and a timestamp
(stored in UTC) is turned into a calendar day with `day_of`, so day counts never mix zones.
"""

from __future__ import annotations

import datetime as dt

CST = dt.timezone(dt.timedelta(hours=8), "CST")


def local_today() -> dt.date:
    """Today in China Standard Time: a listing valid until 3 月 31 日 stops matching at midnight in
    Beijing on 4 月 1 日, whatever the server's clock zone."""
    return dt.datetime.now(CST).date()


def day_of(t: dt.datetime | dt.date) -> dt.date:
    """The Beijing calendar day of a timestamp (a naive one is taken as UTC, as stored); a date as is."""
    if not isinstance(t, dt.datetime):
        return t
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(CST).date()
