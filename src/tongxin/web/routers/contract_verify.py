"""The public check of a technology contract's registration number (page and API): registered or
not, the registration date and the parties' names only. Declared before `/contracts/{contract_id}`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from ...core import errors as E
from .. import schemas as S
from ..deps import ContractsDep, render

router = APIRouter()
RegNo = Annotated[str, Query(max_length=200, description="技术合同登记编号 / the registration number, e.g. 2026110108000012")]


@router.get("/contracts/verify", response_class=HTMLResponse)
def verify_page(request: Request, contracts: ContractsDep, registration_no: Annotated[str, Query(max_length=200)] = "") -> Any:
    asked = bool(registration_no.strip())
    if not asked:
        return render(request, "deals/verify.html", asked=False, registration_no="", check=None, errors=[])
    try:
        check = contracts.check_registration(registration_no)
    except E.ValidationError as e:
        return render(request, "deals/verify.html", status=422, asked=True, registration_no=registration_no, check=None, errors=e.errors)
    return render(request, "deals/verify.html", asked=True, registration_no=registration_no, check=check, errors=[])


@router.get("/api/v1/contracts/verify", tags=["contracts"], response_model=S.ContractRegistrationCheckOut)
def api_verify(contracts: ContractsDep, registration_no: RegNo) -> Any:
    """公开：该编号是否为已登记的技术合同（登记日期、当事双方名称）；未登记或不存在均为 registered=false /
    public: whether the number is a registered contract's (date, parties' names); unknown or not registered: registered=false."""
    return contracts.check_registration(registration_no).as_dict()
