"""Pages of days of action: public (blueprint "events") and staff (on the staff blueprint)."""

from petition.events.views import api  # noqa: F401 (its route joins bp)
from petition.events.views.public import bp

__all__ = ["bp"]
