"""Petitions, milestones, the signatures table and the count (journal, fold, snapshots)."""
