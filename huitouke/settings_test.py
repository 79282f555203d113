"""Test settings: the real settings, minus what a test must not depend on."""

from huitouke.settings import *  # noqa: F403
from huitouke.settings import STORAGES

# Tests must not depend on a collectstatic run.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
# Background jobs run inline so a test sees their effect; the worker itself is tested separately.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests only
