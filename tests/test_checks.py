"""chatwidget's system checks: each fires on its bad configuration, none on the demo's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.core.management import call_command
from django.test import override_settings

from chatwidget import checks
from chatwidget.middleware import ChatWidgetMiddleware

ROOT = Path(__file__).resolve().parent.parent

# ROOT_URLCONF="tests.test_checks" is a URLconf without chatwidget's include (W006).
urlpatterns: list = []

OUR_MIDDLEWARE = "chatwidget.middleware.ChatWidgetMiddleware"
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
REDIS_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": ["redis://127.0.0.1:6379/0"]},
    }
}


class SiteChatWidgetMiddleware(ChatWidgetMiddleware):
    """A site's own subclass, as projects write to add behaviour."""


def findings(*, deploy: bool = True) -> list:
    return run_checks(tags=[checks.TAG], include_deployment_checks=deploy)


def ids(*, deploy: bool = True) -> list[str]:
    return [message.id for message in findings(deploy=deploy)]


def without(values: list[str], *removed: str) -> list[str]:
    return [value for value in values if value not in removed]


def templates_without_request_processor() -> list[dict]:
    engine = {**settings.TEMPLATES[0]}
    engine["OPTIONS"] = {
        **engine["OPTIONS"],
        "context_processors": without(
            engine["OPTIONS"]["context_processors"], checks.REQUEST_CONTEXT_PROCESSOR
        ),
    }
    return [engine]


# ---------------------------------------------------------------- the demo project


@override_settings(DEBUG=True)
def test_demo_settings_pass_every_check_in_development() -> None:
    assert findings() == []


@override_settings(DEBUG=False, CHANNEL_LAYERS=REDIS_LAYERS, SESSION_COOKIE_SECURE=True)
def test_production_settings_with_redis_pass_every_deploy_check() -> None:
    assert findings() == []


def test_checks_run_under_their_own_tag() -> None:
    call_command("check", tags=[checks.TAG])  # raises SystemCheckError on any error


# ---------------------------------------------------------------- installation


def test_channels_missing_from_installed_apps_is_an_error() -> None:
    with override_settings(INSTALLED_APPS=without(settings.INSTALLED_APPS, "channels")):
        assert "chatwidget.E001" in ids()


def test_channels_not_importable_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = checks.importlib.util.find_spec
    monkeypatch.setattr(
        checks.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "channels" else real_find_spec(name, *a),
    )
    assert "chatwidget.E001" in ids()


def test_missing_asgi_application_is_an_error() -> None:
    with override_settings():
        del settings.ASGI_APPLICATION
        assert "chatwidget.E002" in ids()


def test_rest_framework_missing_from_installed_apps_warns() -> None:
    apps = without(settings.INSTALLED_APPS, "rest_framework", "drf_spectacular")
    with override_settings(INSTALLED_APPS=apps):
        assert "chatwidget.W007" in ids()


@pytest.mark.parametrize(
    "installed_apps",
    [
        pytest.param(lambda apps: without(apps, "daphne"), id="missing"),
        pytest.param(lambda apps: [*without(apps, "daphne"), "daphne"], id="after-staticfiles"),
    ],
)
def test_runserver_without_daphne_first_warns_in_development(installed_apps) -> None:
    with override_settings(DEBUG=True, INSTALLED_APPS=installed_apps(settings.INSTALLED_APPS)):
        assert "chatwidget.W004" in ids()


def test_daphne_is_not_required_in_production() -> None:
    apps = without(settings.INSTALLED_APPS, "daphne")
    with override_settings(DEBUG=False, INSTALLED_APPS=apps, CHANNEL_LAYERS=REDIS_LAYERS):
        assert "chatwidget.W004" not in ids()


# ---------------------------------------------------------------- channel layers


def test_no_default_channel_layer_is_an_error() -> None:
    with override_settings(CHANNEL_LAYERS={}):
        assert "chatwidget.E008" in ids()


def test_in_memory_layer_in_production_warns_on_deploy_check() -> None:
    with override_settings(DEBUG=False):
        assert "chatwidget.W001" in ids(deploy=True)
        assert "chatwidget.W001" not in ids(deploy=False)


def test_in_memory_layer_in_development_is_fine() -> None:
    with override_settings(DEBUG=True):
        assert "chatwidget.W001" not in ids()


# The check only reads DATABASES; no connection is made with these.
only_read = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


def postgres(**database) -> dict:
    return {"default": {**settings.DATABASES["default"], "ENGINE":
                        "django.db.backends.postgresql", "OPTIONS": {}, **database}}


@only_read
@pytest.mark.parametrize("max_age", [60, None])
def test_persistent_postgres_connections_without_a_pool_warn_on_deploy_check(max_age) -> None:
    with override_settings(DEBUG=False, DATABASES=postgres(CONN_MAX_AGE=max_age)):
        assert "chatwidget.W008" in ids(deploy=True)
        assert "chatwidget.W008" not in ids(deploy=False)


@only_read
def test_pooled_or_per_request_postgres_connections_are_fine() -> None:
    pooled = postgres(CONN_MAX_AGE=0, OPTIONS={"pool": {"max_size": 4}})
    for databases in (pooled, postgres(CONN_MAX_AGE=0)):
        with override_settings(DEBUG=False, DATABASES=databases):
            assert "chatwidget.W008" not in ids()


# ---------------------------------------------------------------- middleware and templates


def test_missing_middleware_is_an_error() -> None:
    with override_settings(MIDDLEWARE=without(settings.MIDDLEWARE, OUR_MIDDLEWARE)):
        assert "chatwidget.E003" in ids()


def test_a_subclass_of_the_middleware_counts_as_installed() -> None:
    middleware = [
        f"{__name__}.SiteChatWidgetMiddleware" if path == OUR_MIDDLEWARE else path
        for path in settings.MIDDLEWARE
    ]
    with override_settings(MIDDLEWARE=middleware):
        assert not {"chatwidget.E003", "chatwidget.E004"} & set(ids())


def test_middleware_before_authentication_is_an_error() -> None:
    middleware = without(settings.MIDDLEWARE, OUR_MIDDLEWARE)
    middleware.insert(middleware.index(AUTH_MIDDLEWARE), OUR_MIDDLEWARE)
    with override_settings(MIDDLEWARE=middleware):
        messages = [m for m in findings() if m.id == "chatwidget.E004"]
    assert len(messages) == 1
    assert "comes after" in messages[0].msg


def test_middleware_without_authentication_is_an_error() -> None:
    with override_settings(MIDDLEWARE=without(settings.MIDDLEWARE, AUTH_MIDDLEWARE)):
        messages = [m for m in findings() if m.id == "chatwidget.E004"]
    assert len(messages) == 1
    assert "is missing" in messages[0].msg


def test_missing_request_context_processor_is_an_error() -> None:
    with override_settings(TEMPLATES=templates_without_request_processor()):
        assert "chatwidget.E005" in ids()


def test_sites_without_django_templates_are_not_asked_for_the_processor() -> None:
    jinja = [{"BACKEND": "django.template.backends.jinja2.Jinja2", "DIRS": [], "OPTIONS": {}}]
    with override_settings(TEMPLATES=jinja):
        assert "chatwidget.E005" not in ids()


def test_urls_not_included_warns() -> None:
    with override_settings(ROOT_URLCONF=__name__):
        assert "chatwidget.W006" in ids()


# ---------------------------------------------------------------- the CHATWIDGET dict


@pytest.mark.parametrize(
    "config",
    [
        {"MAX_MESSAGE_LENGTH": 0},
        {"MAX_MESSAGE_LENGTH": "5000"},
        {"MAX_MESSAGE_LENGTH": True},
        {"PAGE_SIZE": -1},
        {"IDENTITY_VERIFICATION": "yes"},
        {"COOKIE_SECURE": "1"},
        {"COOKIE_NAME": ""},
        {"COOKIE_DOMAIN": 7},
        {"ATTACHMENT_TYPES": "image/png"},
        {"ALLOWED_ORIGINS": ["https://a.example", None]},
    ],
    ids=lambda config: next(iter(config)),
)
def test_chatwidget_values_of_the_wrong_type_are_errors(config: dict) -> None:
    with override_settings(CHATWIDGET=config):
        messages = [m for m in findings() if m.id == "chatwidget.E006"]
    assert len(messages) == 1
    assert next(iter(config)) in messages[0].msg


@pytest.mark.parametrize("config", [
    {"CACHE": "nowhere"},
    {"THROTTLE_RATES": {"ping_ip": "lots"}},
    {"THROTTLE_RATES": {"ping_ip": "0/min"}},
    {"THROTTLE_RATES": {"pign_ip": "5/min"}},
])
def test_a_throttle_cache_or_rate_that_would_fail_every_request_is_an_error(config) -> None:
    with override_settings(CHATWIDGET=config):
        assert [m.id for m in findings() if m.id == "chatwidget.E010"] == ["chatwidget.E010"]


def test_throttle_rates_may_be_turned_off() -> None:
    with override_settings(CHATWIDGET={"THROTTLE_RATES": {"ping_ip": None,
                                                          "message_ip": "10/hour"}}):
        assert [m for m in findings() if m.id == "chatwidget.E010"] == []


def test_chatwidget_that_is_not_a_dict_is_an_error() -> None:
    with override_settings(CHATWIDGET=[("MAX_MESSAGE_LENGTH", 10)]):
        assert ids(deploy=False) == ["chatwidget.E006"]


def test_valid_chatwidget_values_pass() -> None:
    config = {
        "MAX_MESSAGE_LENGTH": 200,
        "COOKIE_SECURE": True,
        "COOKIE_DOMAIN": ".example.com",
        "ALLOWED_ORIGINS": ("https://shop.example",),
        "IDENTITY_VERIFICATION": True,
    }
    with override_settings(DEBUG=True, CHATWIDGET=config):
        assert ids() == []


def test_unknown_key_warns_and_suggests_the_likely_one() -> None:
    with override_settings(CHATWIDGET={"MAX_MESSAGE_LENGHT": 200}):
        messages = [m for m in findings() if m.id == "chatwidget.W002"]
    assert len(messages) == 1
    assert "'MAX_MESSAGE_LENGHT'" in messages[0].msg
    assert "Did you mean 'MAX_MESSAGE_LENGTH'" in messages[0].msg


@pytest.mark.parametrize(
    "adapter", ["chatwidget.adapter.NoSuchAdapter", "chatwidget.models.Widget"]
)
def test_adapter_that_is_not_a_chatwidget_adapter_is_an_error(adapter: str) -> None:
    with override_settings(CHATWIDGET={"ADAPTER": adapter}):
        assert "chatwidget.E007" in ids()


@pytest.mark.parametrize("django_cookie", ["SESSION_COOKIE_NAME", "CSRF_COOKIE_NAME"])
def test_widget_cookie_named_like_a_django_cookie_is_an_error(django_cookie: str) -> None:
    name = getattr(settings, django_cookie)
    with override_settings(CHATWIDGET={"COOKIE_NAME": name}):
        assert "chatwidget.E009" in ids()


# ---------------------------------------------------------------- production security


def test_insecure_widget_cookie_in_production_warns() -> None:
    with override_settings(DEBUG=False, SESSION_COOKIE_SECURE=False):
        assert "chatwidget.W003" in ids()
    with override_settings(
        DEBUG=False, SESSION_COOKIE_SECURE=False, CHATWIDGET={"COOKIE_SECURE": True}
    ):
        assert "chatwidget.W003" not in ids()


def test_identity_verification_off_in_production_warns() -> None:
    with override_settings(DEBUG=False, CHATWIDGET={"IDENTITY_VERIFICATION": False}):
        assert "chatwidget.W005" in ids()
    with override_settings(DEBUG=True, CHATWIDGET={"IDENTITY_VERIFICATION": False}):
        assert "chatwidget.W005" not in ids()


# ---------------------------------------------------------------- every check, documented


def test_every_finding_has_a_hint() -> None:
    bad = override_settings(
        DEBUG=False,
        CHANNEL_LAYERS={},
        MIDDLEWARE=without(settings.MIDDLEWARE, OUR_MIDDLEWARE),
        TEMPLATES=templates_without_request_processor(),
        ROOT_URLCONF=__name__,
        SESSION_COOKIE_SECURE=False,
        CHATWIDGET={"UNKNOWN": 1, "IDENTITY_VERIFICATION": False},
    )
    with bad:
        messages = findings()
    assert len(messages) >= 6
    assert all(message.hint for message in messages)


def test_every_check_id_is_documented() -> None:
    source = (ROOT / "chatwidget" / "checks.py").read_text()
    documented = (ROOT / "docs" / "checks.md").read_text()
    defined = set(re.findall(r"chatwidget\.[EW]\d{3}", source))
    assert defined, "no check ids found in chatwidget/checks.py"
    assert sorted(defined - set(re.findall(r"chatwidget\.[EW]\d{3}", documented))) == []
