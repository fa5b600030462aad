"""The RQ task names of the release before the feature packages (#11).

RQ stores a job's function by its dotted path: jobs that app servers of that release pushed
(during a rolling deploy, or still waiting in Redis) name petition.queue.send_message and
petition.queue.run_job. New pushes name petition.worker; remove this module a release later.
"""

from petition.worker import run_job, send_message  # noqa: F401
