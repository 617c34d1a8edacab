"""System checks (ids chatwidget.E001…E011, W001…W008); listed with their hints in docs/checks.md.

A misconfigured chat fails quietly in the browser (a socket that never connects, a cookie
that is never written, a history shown to the wrong person), so everything that can be
read off the settings is checked here, where ``manage.py check`` says it with a fix.

Checks tagged ``deploy`` run only with ``check --deploy``: they are about production
settings (DEBUG=False) and would be noise in development. All checks carry the tag
``chatwidget``, so ``manage.py check --tag chatwidget`` runs just these.
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from . import conf

TAG = "chatwidget"

MIDDLEWARE_PATH = "chatwidget.middleware.ChatWidgetMiddleware"
AUTH_MIDDLEWARE_PATH = "django.contrib.auth.middleware.AuthenticationMiddleware"
REQUEST_CONTEXT_PROCESSOR = "django.template.context_processors.request"
IN_MEMORY_LAYERS = {
    "channels.layers.InMemoryChannelLayer",
    "chatwidget.layers.InMemoryChannelLayer",
}

Messages = list[CheckMessage]


# ---------------------------------------------------------------- helpers


def _is_middleware(path: str, target: type) -> bool:
    """True for ``target`` itself or a subclass, so a site's own subclass counts."""
    try:
        candidate = import_string(path)
    except ImportError:
        return False
    return inspect.isclass(candidate) and issubclass(candidate, target)


def _index(middleware: Sequence[str], target: type) -> int | None:
    for i, path in enumerate(middleware):
        if _is_middleware(path, target):
            return i
    return None


def _app_names() -> list[str]:
    """Installed app names in INSTALLED_APPS order, whether listed as module or AppConfig."""
    from django.apps import apps

    return [app_config.name for app_config in apps.get_app_configs()]


def _app_position(name: str) -> int | None:
    names = _app_names()
    return names.index(name) if name in names else None


# ---------------------------------------------------------------- installation


@register(TAG, Tags.compatibility)
def check_installation(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> Messages:
    """channels, rest_framework, ASGI_APPLICATION, daphne: what serves the chat at all."""
    messages: Messages = []
    if importlib.util.find_spec("channels") is None or _app_position("channels") is None:
        messages.append(
            Error(
                "'channels' is not installed: chatwidget's websockets (live messages, "
                "logout in every tab) need Django Channels.",
                hint="pip install 'channels>=4.3' and add \"channels\" to INSTALLED_APPS.",
                id="chatwidget.E001",
            )
        )
    if not getattr(settings, "ASGI_APPLICATION", None):
        messages.append(
            Error(
                "ASGI_APPLICATION is not set: no ASGI application routes chatwidget's "
                "websockets (runserver under daphne refuses to start without it).",
                hint=(
                    'Set ASGI_APPLICATION = "yourproject.asgi.application" and route '
                    "chatwidget.routing.websocket_urlpatterns in it (README, 'Installing "
                    "into your site')."
                ),
                id="chatwidget.E002",
            )
        )
    if _app_position("rest_framework") is None:
        messages.append(
            Warning(
                "'rest_framework' is not in INSTALLED_APPS: chatwidget's REST API runs on "
                "Django REST framework, whose own checks, templates and static files are "
                "then missing.",
                hint='Add "rest_framework" to INSTALLED_APPS.',
                id="chatwidget.W007",
            )
        )
    if settings.DEBUG:
        daphne_at = _app_position("daphne")
        static_at = _app_position("django.contrib.staticfiles")
        if daphne_at is None or (static_at is not None and static_at < daphne_at):
            # Django takes a management command from the first app that defines it, so
            # daphne's ASGI runserver only wins when listed before staticfiles.
            problem = "missing from" if daphne_at is None else "after django.contrib.staticfiles in"
            messages.append(
                Warning(
                    f"'daphne' is {problem} INSTALLED_APPS: `manage.py runserver` serves "
                    "plain WSGI, so the widget's websocket cannot connect in development.",
                    hint=(
                        'Put "daphne" first in INSTALLED_APPS. If you never use runserver '
                        "(uvicorn or daphne serve the site), silence chatwidget.W004."
                    ),
                    id="chatwidget.W004",
                )
            )
    return messages


@register(TAG, Tags.compatibility)
def check_channel_layer(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> Messages:
    """Without a default layer there are no groups: nothing reaches another socket."""
    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    if "default" not in layers:
        return [
            Error(
                "CHANNEL_LAYERS has no 'default' layer: chatwidget cannot deliver a "
                "message, typing indicator or logout to any other socket.",
                hint=(
                    'CHANNEL_LAYERS = {"default": {"BACKEND": '
                    '"channels.layers.InMemoryChannelLayer"}} for one process, or '
                    "chatwidget.redis_layer.RedisPubSubChannelLayer for several "
                    "(docs/deploy.md)."
                ),
                id="chatwidget.E008",
            )
        ]
    return []


@register(TAG, Tags.compatibility, deploy=True)
def check_channel_layer_deploy(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> Messages:
    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    backend = layers.get("default", {}).get("BACKEND", "")
    if not settings.DEBUG and backend in IN_MEMORY_LAYERS:
        return [
            Warning(
                "The default channel layer is InMemoryChannelLayer while DEBUG is False: "
                "it lives inside one process, so with several workers a message or logout "
                "reaches only the sockets of the worker that sent it.",
                hint=(
                    "Use channels_redis (pip install 'chatwidget[redis]', "
                    '"BACKEND": "chatwidget.redis_layer.RedisPubSubChannelLayer"; the demo '
                    "project reads REDIS_URL). If the site really runs one ASGI process, "
                    "silence chatwidget.W001."
                ),
                id="chatwidget.W001",
            )
        ]
    return []


@register(TAG, Tags.database, deploy=True)
def check_database_connections(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> Messages:
    """Persistent PostgreSQL connections without a pool run out under ASGI.

    Django's ASGI handler runs every HTTP request on a thread of its own, and a persistent
    connection belongs to its thread: they pile up until PostgreSQL refuses clients.
    """
    if settings.DEBUG:
        return []
    messages: Messages = []
    for alias, database in settings.DATABASES.items():
        persistent = database.get("CONN_MAX_AGE", 0) != 0  # None: forever
        pooled = bool((database.get("OPTIONS") or {}).get("pool"))
        if database.get("ENGINE", "").endswith("postgresql") and persistent and not pooled:
            messages.append(Warning(
                f"DATABASES[{alias!r}] keeps persistent PostgreSQL connections "
                f"(CONN_MAX_AGE={database.get('CONN_MAX_AGE')}) without a pool: under ASGI "
                "each request's thread keeps its own, until PostgreSQL answers 'too many "
                "clients' and requests fail with 500.",
                hint=(
                    'Pool them: "CONN_MAX_AGE": 0, "OPTIONS": {"pool": {"max_size": N}} '
                    "(pip install 'chatwidget[postgres]'), with workers x N below "
                    "max_connections (docs/deploy.md). Behind PgBouncer, silence "
                    "chatwidget.W008."
                ),
                id="chatwidget.W008",
            ))
    return messages


# ---------------------------------------------------------------- middleware and templates


@register(TAG, Tags.compatibility)
def check_middleware(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> Messages:
    """The middleware keeps the widget identity in step with the site login (DESIGN §2)."""
    from django.contrib.auth.middleware import AuthenticationMiddleware

    from .middleware import ChatWidgetMiddleware

    middleware = list(settings.MIDDLEWARE)
    ours = _index(middleware, ChatWidgetMiddleware)
    if ours is None:
        return [
            Error(
                f"{MIDDLEWARE_PATH} is missing from MIDDLEWARE: the widget cookie is never "
                "written, and a site logout would not end the chat identity.",
                hint=(
                    f'Add "{MIDDLEWARE_PATH}" to MIDDLEWARE, right after "{AUTH_MIDDLEWARE_PATH}".'
                ),
                id="chatwidget.E003",
            )
        ]
    auth = _index(middleware, AuthenticationMiddleware)
    if auth is None or auth > ours:
        where = "is missing" if auth is None else f"comes after {MIDDLEWARE_PATH}"
        return [
            Error(
                f"{AUTH_MIDDLEWARE_PATH} {where}: ChatWidgetMiddleware needs request.user "
                "to tell whose chat history a browser may see, and would otherwise revoke "
                "every logged-in user's widget identity.",
                hint=f'Place "{MIDDLEWARE_PATH}" after "{AUTH_MIDDLEWARE_PATH}" in MIDDLEWARE.',
                id="chatwidget.E004",
            )
        ]
    return []


@register(TAG, Tags.templates)
def check_templates(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> Messages:
    """The {% chatwidget %} tag reads the request (CSP nonce, widget session)."""
    engines = [
        engine
        for engine in settings.TEMPLATES
        if engine.get("BACKEND") == "django.template.backends.django.DjangoTemplates"
    ]
    if not engines:
        return []  # another template language; the tag is not used there
    if any(
        REQUEST_CONTEXT_PROCESSOR in engine.get("OPTIONS", {}).get("context_processors", [])
        for engine in engines
    ):
        return []
    return [
        Error(
            f"'{REQUEST_CONTEXT_PROCESSOR}' is not in any DjangoTemplates backend's "
            "context_processors: the {% chatwidget %} tag needs the request.",
            hint=(
                f'Add "{REQUEST_CONTEXT_PROCESSOR}" to TEMPLATES[...]["OPTIONS"]'
                '["context_processors"].'
            ),
            id="chatwidget.E005",
        )
    ]


@register(TAG, Tags.urls)
def check_urls(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> Messages:
    """The SDK calls the API by URL; without the include every call is a 404."""
    from django.urls import get_resolver

    try:
        namespaces = get_resolver().namespace_dict
    except Exception:  # a broken URLconf is reported by Django's own urls checks
        return []
    if "chatwidget" in namespaces:
        return []
    return [
        Warning(
            "chatwidget's URLs are not included in ROOT_URLCONF: the widget's API calls "
            "and attachment downloads will all be 404.",
            hint='Add path("chatwidget/", include("chatwidget.urls")) to your urlpatterns.',
            id="chatwidget.W006",
        )
    ]


# ---------------------------------------------------------------- the CHATWIDGET dict

_POSITIVE_INTS = (
    "COOKIE_AGE",
    "MAX_MESSAGE_LENGTH",
    "MAX_ATTACHMENT_SIZE",
    "MAX_ATTACHMENTS_PER_MESSAGE",
    "MAX_ATTRIBUTES",
    "MAX_ATTRIBUTE_KEY_LENGTH",
    "MAX_ATTRIBUTE_VALUE_LENGTH",
    "MAX_FRAME_SIZE",
    "RATE_LIMIT_MESSAGES",
    "RATE_LIMIT_WINDOW",
    "RESUME_LIMIT",
    "DATABASE_THREADS",
    "PAGE_SIZE",
)
# None switches the limit off (keep forever, never expire).
_OPTIONAL_POSITIVE_INTS = ("RETENTION_DAYS", "ANONYMOUS_TOKEN_IDLE_DAYS", "TOKEN_MAX_AGE_DAYS")
_BOOLS = ("IDENTITY_VERIFICATION", "MERGE_ON_IDENTIFY")
_OPTIONAL_BOOLS = ("COOKIE_SECURE",)
_NON_EMPTY_STRINGS = ("COOKIE_NAME", "COOKIE_PATH", "ADAPTER", "DEFAULT_APP_ID")
_OPTIONAL_STRINGS = ("COOKIE_DOMAIN",)
_STRING_LISTS = ("ATTACHMENT_TYPES", "ALLOWED_ORIGINS")


def _type_problem(key: str, value: Any) -> str | None:
    """What is wrong with one value, in words, or None. bool is not accepted as an int."""
    if key in _POSITIVE_INTS:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            return "a positive integer"
    elif key in _OPTIONAL_POSITIVE_INTS:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value <= 0):
            return "None or a positive integer"
    elif key in _BOOLS:
        if not isinstance(value, bool):
            return "True or False"
    elif key in _OPTIONAL_BOOLS:
        if value is not None and not isinstance(value, bool):
            return "None, True or False"
    elif key in _NON_EMPTY_STRINGS:
        if not isinstance(value, str) or not value:
            return "a non-empty string"
    elif key in _OPTIONAL_STRINGS:
        if value is not None and not isinstance(value, str):
            return "None or a string"
    elif key in _STRING_LISTS:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            return "a list of strings"
    else:
        return _inferred_type_problem(conf.DEFAULTS.get(key), value)
    return None


def _inferred_type_problem(default: Any, value: Any) -> str | None:
    """Keys without a rule above are held to their default's type."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "True or False"
    if isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return None if ok else "a non-negative integer"
    if isinstance(default, str):
        return None if isinstance(value, str) else "a string"
    if isinstance(default, list | tuple):
        return None if isinstance(value, list | tuple) else "a list"
    if isinstance(default, dict):
        return None if isinstance(value, dict) else "a dict"
    return None


def _value_errors(user: dict[str, Any]) -> Iterable[CheckMessage]:
    for key in conf.DEFAULTS:
        if key not in user:
            continue
        expected = _type_problem(key, user[key])
        if expected:
            yield Error(
                f"CHATWIDGET[{key!r}] must be {expected}, not {user[key]!r}.",
                hint=f"Fix or remove it; the default is {conf.DEFAULTS[key]!r} (docs/settings.md).",
                id="chatwidget.E006",
            )


def _adapter_error(path: str) -> CheckMessage | None:
    from .adapter import ChatWidgetAdapter

    try:
        adapter = import_string(path)
    except ImportError as exc:
        problem = f"cannot be imported ({exc})"
    else:
        if inspect.isclass(adapter) and issubclass(adapter, ChatWidgetAdapter):
            return None
        problem = "is not a subclass of chatwidget.adapter.ChatWidgetAdapter"
    return Error(
        f"CHATWIDGET['ADAPTER'] = {path!r} {problem}.",
        hint="Point ADAPTER at a subclass of chatwidget.adapter.ChatWidgetAdapter.",
        id="chatwidget.E007",
    )


_RATE = re.compile(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)")


def _throttle_errors() -> Iterable[CheckMessage]:
    """A missing cache alias or a malformed rate would fail every throttled request."""
    alias = conf.get("CACHE")
    if alias not in getattr(settings, "CACHES", {"default": {}}):
        yield Error(
            f"CHATWIDGET['CACHE'] is {alias!r}, which is not an alias in CACHES.",
            hint="Name a cache from CACHES (a shared one, such as RedisCache, across workers).",
            id="chatwidget.E010",
        )
    for scope, rate in conf.get("THROTTLE_RATES").items():
        if scope not in conf.DEFAULTS["THROTTLE_RATES"]:
            yield Error(
                f"CHATWIDGET['THROTTLE_RATES'] has an unknown scope {scope!r}.",
                hint="Scopes: " + ", ".join(conf.DEFAULTS["THROTTLE_RATES"]) + ".",
                id="chatwidget.E010",
            )
        elif rate is not None and not (isinstance(rate, str) and _RATE.fullmatch(rate)):
            yield Error(
                f"CHATWIDGET['THROTTLE_RATES'][{scope!r}] is {rate!r}, not a rate.",
                hint='Write "N/s", "N/min", "N/hour" or "N/day" (N > 0), or None for none.',
                id="chatwidget.E010",
            )


@register(TAG, Tags.compatibility)
def check_settings(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> Messages:
    """Types, unknown keys, the adapter and cookie-name clashes in ``CHATWIDGET``."""
    user = getattr(settings, "CHATWIDGET", None)
    if user is None:
        user = {}
    if not isinstance(user, dict):
        return [
            Error(
                f"CHATWIDGET must be a dict, not {type(user).__name__}.",
                hint="CHATWIDGET = {} keeps every default (docs/settings.md).",
                id="chatwidget.E006",
            )
        ]
    messages: Messages = list(_value_errors(user))
    if messages:
        return messages  # the checks below read values that are known to be wrong

    for key in conf.get_config()["_unknown"]:
        close = difflib.get_close_matches(str(key), conf.DEFAULTS, n=1)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        messages.append(
            Warning(
                f"CHATWIDGET has an unknown key {key!r}; it is ignored.{suggestion}",
                hint="See docs/settings.md for the keys chatwidget reads.",
                id="chatwidget.W002",
            )
        )

    adapter_error = _adapter_error(conf.get("ADAPTER"))
    if adapter_error is not None:
        messages.append(adapter_error)
    messages.extend(_throttle_errors())

    from .datarights import ERASE_MODES

    if conf.get("ERASE_MODE") not in ERASE_MODES:
        messages.append(
            Error(
                f"CHATWIDGET['ERASE_MODE'] is {conf.get('ERASE_MODE')!r}; erasing a contact "
                "would fail.",
                hint=f"Use one of {', '.join(map(repr, ERASE_MODES))} (docs/data-rights.md).",
                id="chatwidget.E011",
            )
        )

    cookie = conf.get("COOKIE_NAME")
    for setting in ("SESSION_COOKIE_NAME", "CSRF_COOKIE_NAME"):
        if cookie == getattr(settings, setting, None):
            messages.append(
                Error(
                    f"CHATWIDGET['COOKIE_NAME'] is {cookie!r}, the same as {setting}: the "
                    "widget token and Django's cookie would overwrite each other.",
                    hint="Give CHATWIDGET['COOKIE_NAME'] a name of its own (default 'chatwidget').",
                    id="chatwidget.E009",
                )
            )
    return messages


@register(TAG, Tags.security, deploy=True)
def check_security(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> Messages:
    """Production-only: the widget token is as good as a login to the chat history."""
    if settings.DEBUG:
        return []
    user = getattr(settings, "CHATWIDGET", None) or {}
    if not isinstance(user, dict) or list(_value_errors(user)):
        return []  # check_settings already reports it
    messages: Messages = []
    if not conf.cookie_secure():
        messages.append(
            Warning(
                "The widget cookie is not Secure while DEBUG is False: the token that "
                "grants a visitor's chat history can travel over plain HTTP.",
                hint=(
                    "Set SESSION_COOKIE_SECURE = True (CHATWIDGET['COOKIE_SECURE'] = None "
                    "follows it) or CHATWIDGET['COOKIE_SECURE'] = True."
                ),
                id="chatwidget.W003",
            )
        )
    if not conf.get("IDENTITY_VERIFICATION"):
        messages.append(
            Warning(
                "CHATWIDGET['IDENTITY_VERIFICATION'] is False while DEBUG is False: any page "
                "script can identify() as any external id and read that person's history.",
                hint=(
                    "Keep IDENTITY_VERIFICATION = True and sign external ids with "
                    "HMAC-SHA256(widget.identity_secret, external_id) on your server."
                ),
                id="chatwidget.W005",
            )
        )
    return messages
