"""Files the app writes under instance/: personal data, readable by the app's own user only."""

import os

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path):
    """The folder, created readable by this user only if it is new; returns the path."""
    os.makedirs(path, mode=PRIVATE_DIR, exist_ok=True)
    return path


def make_private(path):
    """Readable and writable by this user only (what umask 022 would leave 0644)."""
    os.chmod(path, PRIVATE_FILE)
