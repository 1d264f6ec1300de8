"""Feature routers. Each feature adds its module here; `create_app` includes them all."""

from __future__ import annotations

from fastapi import APIRouter


def all_routers() -> list[APIRouter]:
    from . import account_pages, api, billing, my_pages, operator_pages, pages, resources, stats

    # billing before resources: its /bookings/{id}/check-in paths would otherwise meet /bookings/{id}/{action}
    routers: list[APIRouter] = [pages.router, account_pages.router, my_pages.router, operator_pages.router, api.router,
                               stats.router, billing.router, resources.router]
    from . import contract_verify; routers.append(contract_verify.router)  # noqa: E702, I001
    from . import contract_office; routers.append(contract_office.router)  # noqa: E702, I001
    from . import deal_pages; routers.append(deal_pages.router)  # noqa: E702, I001
    from . import resources_owner; routers.append(resources_owner.router)  # noqa: E702, I001
    from . import alerts; routers.append(alerts.router)  # noqa: E702, I001
    from . import marks; routers.append(marks.router)  # noqa: E702, I001
    from . import org_facts; routers.append(org_facts.router)  # noqa: E702, I001
    from . import policy_qualifiers; routers.append(policy_qualifiers.router)  # noqa: E702, I001
    from . import recommendations; routers.append(recommendations.router)  # noqa: E702, I001
    return routers
