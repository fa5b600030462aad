"""Retention: IP erasure, anonymisation of delivered petitions, erasing one person."""
