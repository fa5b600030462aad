"""Background work: the jobs table, the in-process runner, RQ, the registry of job kinds."""
