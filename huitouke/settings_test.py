"""Test settings: the real settings, minus what a test must not depend on."""

from huitouke.settings import *  # noqa: F403
from huitouke.settings import STORAGES

# Tests must not depend on a collectstatic run.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
# Background jobs run inline so a test sees their effect; the worker itself is tested separately.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests only

# SQLite tests use a database file, not memory: the concurrency tests run real threads, and SQLite's shared
# in-memory database answers them "table is locked" at once where a WAL file waits (busy_timeout) as in
# production. One file per test run; Django deletes it at the end.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and not DATABASES["default"]["TEST"]["NAME"]:  # noqa: F405
    import os as _os
    import tempfile as _tempfile

    DATABASES["default"]["TEST"]["NAME"] = _os.path.join(  # noqa: F405
        _tempfile.gettempdir(), f"huitouke-test-{_os.getpid()}.sqlite3"
    )
