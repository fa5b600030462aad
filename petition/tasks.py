"""The kinds of background job, registered with petition.jobs by importing their modules."""

from .delivery import jobs as delivery_jobs  # noqa: F401  (registers delivery_pdf)
