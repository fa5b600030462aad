"""The kinds of background job, registered with petition.jobs by importing their modules."""

from . import (
    counting,  # noqa: F401  (registers the count_fold periodic fold)
    trending,  # noqa: F401  (registers the trend_alerts periodic check)
)
from .delivery import jobs as delivery_jobs  # noqa: F401  (registers delivery_pdf)
from .moderation_jobs import moderation_bulk  # noqa: F401  (registers moderation_bulk)
