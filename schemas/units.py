"""Days in a year and in a month: a mapping's ``unit: years`` / ``unit: months``, and a plan's
``time.days_per_month`` when it says none (the reference study's 365.25 / 12).

Their own module, without pandas or pandera, so the analysis plan reads them without
importing the contract's validation library (about 1.5 s the report does not need)."""
from __future__ import annotations

DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
