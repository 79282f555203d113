"""Django settings for huitouke, read from the environment.

DATABASE_URL picks the database (default: SQLite file under var/, WAL mode);
HUITOUKE_SECRET_KEY the secret (default: generated once into var/secret_key).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("HUITOUKE_VAR_DIR", BASE_DIR.parent / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Use the environment's key, else one generated on first run and kept in var/ (never committed)."""
    from_env = os.environ.get("HUITOUKE_SECRET_KEY")
    if from_env:
        return from_env
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _env_flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


SECRET_KEY = _secret_key()
DEBUG = _env_flag("HUITOUKE_DEBUG")
ALLOWED_HOSTS = os.environ.get("HUITOUKE_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("HUITOUKE_CSRF_TRUSTED_ORIGINS", "").split(",") if o]
# Where customers reach the site: links sent without a request at hand (a satisfaction link in an SMS) start here.
PUBLIC_URL = os.environ.get("HUITOUKE_PUBLIC_URL", "http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "huitouke.core",
    "huitouke.customers",
    "huitouke.orders",
    "huitouke.analytics",
    "huitouke.loyalty",
    "huitouke.engagement",
    "huitouke.quality",
    "huitouke.platform",
    "huitouke.web",
    "huitouke.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "huitouke.core.middleware.ShopLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "huitouke.core.middleware.ShopMiddleware",
    "huitouke.core.middleware.ApiMethodNotAllowedMiddleware",
]

ROOT_URLCONF = "huitouke.urls"
WSGI_APPLICATION = "huitouke.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "huitouke.core.context_processors.shop",
                "huitouke.platform.context_processors.merchant",
            ],
        },
    },
]

_SQLITE_DEFAULT = f"sqlite:///{VAR_DIR / 'huitouke.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _SQLITE_DEFAULT), conn_max_age=60)}
# WAL lets the web app and the worker read while one writes; IMMEDIATE avoids
# "database is locked" upgrades from read to write inside a transaction.
SQLITE_OPTIONS = {
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
        " PRAGMA foreign_keys=ON; PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY;"
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = SQLITE_OPTIONS
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("HUITOUKE_TEST_SQLITE_NAME") or None}

# A PostgreSQL database converted by `huitouke citus convert` ((shop_id, id) keys) needs the backend that
# groups aggregates by every selected column: set HUITOUKE_CITUS_KEYS=1 for it.
CITUS_KEYS = os.environ.get("HUITOUKE_CITUS_KEYS", "").lower() in {"1", "true", "yes"}
if CITUS_KEYS and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "huitouke.core.citus_backend"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every start when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

TASKS = {
    "default": {
        "BACKEND": os.environ.get("HUITOUKE_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_pii": {"()": "huitouke.core.pii.MaskPIIFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_pii"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("HUITOUKE_LOG_LEVEL", "INFO")},
    # PDF font subsetting chatter; twilio logs every request's headers at INFO (noise, and phone numbers)
    "loggers": {"django.db.backends": {"level": "INFO"}, "fontTools": {"level": "WARNING"},
                "twilio.http_client": {"level": "WARNING"}},
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # HTMX reads the token from the cookie-less meta tag; kept default-safe.
X_FRAME_OPTIONS = "DENY"

NINJA_PAGINATION_PER_PAGE = 50
HUITOUKE_DEMO_PASSWORD_FILE = VAR_DIR / "demo_password"

# The font of the PDF statements (platform): Chinese text needs a CJK font. Debian's fonts-noto-cjk puts a
# collection here; its face 2 is Simplified Chinese. Without it the PDF export refuses with the fix.
PLATFORM_PDF_FONT = os.environ.get("HUITOUKE_PDF_FONT", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
PLATFORM_PDF_FONT_FACE = int(os.environ.get("HUITOUKE_PDF_FONT_FACE", "2"))

# An import file at least this large (bytes) into a store with no orders yet is parsed in a second process while
# this one writes (orders.importing.parse_process); None ("off"): always parse in-process. 8 MB is ~25,000 Taobao rows.
_parse_process_bytes = os.environ.get("HUITOUKE_IMPORT_PARSE_PROCESS_BYTES", str(8 << 20))
HUITOUKE_IMPORT_PARSE_PROCESS_BYTES: int | None = None if _parse_process_bytes == "off" else int(_parse_process_bytes)
