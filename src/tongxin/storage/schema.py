"""Every table module, imported once so `Base.metadata` is complete (migrations, drift test)."""

from . import models, models_accounts, models_alerts, models_deals, models_recommendations, models_resources, models_vectors  # noqa: F401
from .models import Base

metadata = Base.metadata
