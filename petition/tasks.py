"""The kinds of background job, registered with petition.jobs by importing their modules."""
