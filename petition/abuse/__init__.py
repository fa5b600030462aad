"""Signing defences, blocklists, trending, moderation and its bulk jobs."""
