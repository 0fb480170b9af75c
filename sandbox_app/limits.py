"""A sandbox tenant's rate limit: so many Management API requests per second.

The count lives on the tenant's row, so every web process serving the tenant shares it.
Every API answer carries Auth0's ``x-ratelimit-limit``, ``x-ratelimit-remaining`` and
``x-ratelimit-reset`` (epoch seconds); a request beyond the limit gets Auth0's 429.
"""

import time
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Case, F, Value, When

from sandbox_app.models import SandboxTenant


@dataclass(frozen=True)
class Allowance:
    limit: int
    used: int
    reset: int  # epoch seconds when the count starts again

    @property
    def allowed(self) -> bool:
        return self.used <= self.limit

    @property
    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(max(0, self.limit - self.used)),
            "x-ratelimit-reset": str(self.reset),
        }


def take(tenant: SandboxTenant) -> Allowance:
    """Count one request against the tenant's current second."""
    second = int(time.time())
    rows = SandboxTenant.objects.filter(pk=tenant.pk)
    with transaction.atomic():
        rows.update(
            used=Case(When(window=second, then=F("used") + 1), default=Value(1)), window=second
        )
        used = rows.values_list("used", flat=True).get()
    return Allowance(tenant.rate_limit, used, second + 1)
