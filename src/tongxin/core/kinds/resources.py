"""The resource kinds (instruments, equipment, materials, talent, finance, policies, certified products)."""

from __future__ import annotations

from .certification import CERTIFIED_PRODUCT, RETAIL_NEED
from .equipment import EQUIPMENT
from .finance import FINANCIAL_SERVICE, FINANCING_NEED
from .instrument import INSTRUMENT, TESTING_NEED
from .material import MATERIAL_LOT, MATERIAL_NEED
from .policy import POLICY
from .registry import KindSpec
from .talent import EXPERT, POST

SPECS: tuple[KindSpec, ...] = (
    INSTRUMENT, TESTING_NEED, EQUIPMENT, MATERIAL_LOT, MATERIAL_NEED, EXPERT, POST,
    FINANCIAL_SERVICE, FINANCING_NEED, POLICY, CERTIFIED_PRODUCT, RETAIL_NEED,
)
