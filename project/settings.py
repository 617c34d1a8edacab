"""Demo site settings, driven by the environment.

Embedded defaults (no variables set): SQLite file, in-memory channel layer, one process.
Scale-out: REDIS_URL switches to channels_redis' pub/sub layer, DATABASE_URL to PostgreSQL.
"""

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_from_url(url: str) -> dict:
    """Parse DATABASE_URL without a third-party dependency (sqlite:/// and postgres://).

    Follows dj-database-url's reading of the URL forms people already use.
    """
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        if parts.netloc == ":memory:" or parts.path in {"", "/", "/:memory:"}:
            return {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
        # sqlite:////abs/path.db is absolute, sqlite:///rel.db relative (dj-database-url's rule).
        name = unquote(parts.path[1:] if parts.path.startswith("//") else parts.path.lstrip("/"))
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name}
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        host = parts.hostname or ""
        hostinfo = parts.netloc.rpartition("@")[2]
        if "%" in hostinfo:
            # A percent-encoded Unix socket directory (postgres://u@%2Frun%2Fpg/db):
            # hostname would lowercase it, and paths are case-sensitive.
            host = unquote(hostinfo.rsplit(":", 1)[0] if parts.port else hostinfo)
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": host,
            "PORT": str(parts.port or ""),
            "OPTIONS": options,
        }
    raise ValueError(f"Unsupported DATABASE_URL scheme: {parts.scheme!r}")


DEBUG = _env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY") or (
    "django-insecure-demo-key-only-for-local-development" if DEBUG else ""
)
if not SECRET_KEY:
    # Django only complains when something first signs a cookie; say it at start-up instead.
    raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DEBUG is off.")
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # Token authentication for bots on the agent API (docs/agent-api.md).
    "rest_framework.authtoken",
    "drf_spectacular",
    "channels",
    "chatwidget",
    "project",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves /static/ from the ASGI workers themselves, so the documented production
    # command shows the widget without a proxy in front (docs/deploy.md).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The widget speaks the visitor's language (Accept-Language): its labels are gettext'd.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "chatwidget.middleware.ChatWidgetMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = None
ASGI_APPLICATION = "project.asgi.application"

DATABASES = {
    "default": _database_from_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    )
}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Django keeps a connection per thread, and ASGI runs every HTTP request on a thread of
    # its own: persistent connections pile up until PostgreSQL refuses clients. A pool per
    # worker bounds them (workers x max_size, docs/deploy.md); a request that cannot get a
    # connection within the timeout is answered 503 (chatwidget/database.py).
    _pool_size = int(os.environ.get("DATABASE_POOL_MAX_SIZE", "10"))
    if _pool_size > 0:
        if int(os.environ.get("CONN_MAX_AGE", "0")):
            raise ImproperlyConfigured(
                "CONN_MAX_AGE keeps one PostgreSQL connection per thread; the demo pools "
                "them instead (DATABASE_POOL_MAX_SIZE). Unset CONN_MAX_AGE, or set "
                "DATABASE_POOL_MAX_SIZE=0 to connect per thread (behind PgBouncer)."
            )
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": min(_pool_size, int(os.environ.get("DATABASE_POOL_MIN_SIZE", "2"))),
            "max_size": _pool_size,
            "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "10")),
        }
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "0"))
else:
    # A new connection per message costs several times the throughput: keep them open.
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # ASGI runs each request on a new thread, and Django's connections are per thread: this
    # backend hands them on from one request to the next instead of opening one per request.
    DATABASES["default"]["ENGINE"] = "chatwidget.backends.sqlite3"
    # Several threads (ASGI sync workers) write to one file: wait rather than fail.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    if os.environ.get("PYTEST_XDIST_WORKER"):
        DATABASES["default"]["CONN_MAX_AGE"] = 0

REDIS_URL = os.environ.get("REDIS_URL")
if REDIS_URL:
    # channels_redis' pub/sub layer that tells sockets when a reconnect may have lost events
    # (see chatwidget/redis_layer.py).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chatwidget.redis_layer.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    # chatwidget's throttles count here (CHATWIDGET["CACHE"]), so every worker shares them.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
else:
    # Channels' in-memory layer with its expiry sweep rate-limited (see chatwidget/layers.py).
    CHANNEL_LAYERS = {"default": {"BACKEND": "chatwidget.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))
# Production serves what collectstatic wrote: compressed, and under content-hashed names
# that may be cached for a year. With DEBUG on, files come straight from the apps' static
# folders, so no collectstatic is needed while developing.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# chatwidget's views name their own schema class; this is for the project-wide schema that
# drf-spectacular's deploy check generates (drf_spectacular.E001 without it).
REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}

SPECTACULAR_SETTINGS = {
    "TITLE": "chatwidget API",
    "DESCRIPTION": "Visitor and agent REST API of the chatwidget Django app.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

CHATWIDGET = {}

if not DEBUG:
    SESSION_COOKIE_SECURE = _env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = _env_bool("SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "3600"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Comma-separated check ids, e.g. "chatwidget.W001" for a deliberate single-process deploy.
SILENCED_SYSTEM_CHECKS = [c for c in os.environ.get("SILENCED_SYSTEM_CHECKS", "").split(",") if c]
if not DEBUG and not SECURE_HSTS_PRELOAD:
    # Preloading commits the domain and all its subdomains to HTTPS in browsers for months;
    # that is the operator's explicit choice (SECURE_HSTS_PRELOAD=1), never a demo default.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"chatwidget": {"handlers": ["console"], "level": "INFO"}},
}
