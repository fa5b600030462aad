"""The kinds of background work: job handlers and periodic functions.

Features do not register themselves on import: create_app adds each feature's kinds here
(petition/__init__.py), so that importing a feature has no side effect and this package never
imports one.
"""

# Job kind -> fn(app, job_id, params, report).
HANDLERS = {}
# Periodic work (count folding, trend alerts...): name -> (fn(app), every_seconds).
PERIODIC = {}


def add_handler(kind, fn):
    """Make fn(app, job_id, params, report) the runner of jobs of this kind."""
    HANDLERS[kind] = fn


def add_periodic(name, fn, seconds):
    """Run fn(app) about every `seconds` in the in-process runner and the worker.

    `seconds` is a number, or the name of the config key that holds it.

    Each function is idempotent and safe to run in several processes at once: it claims what
    it changes in the database, so two workers never do the same work twice.
    """
    PERIODIC[name] = (fn, seconds)


def handler(kind):
    """Decorator form of add_handler (the tests' own job kinds)."""

    def register(fn):
        add_handler(kind, fn)
        return fn

    return register
