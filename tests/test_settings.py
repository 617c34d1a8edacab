"""The demo project's settings: read from the environment, and clean under Django's checks.

Settings are evaluated once per process, so environment-driven behaviour is tested in a
subprocess with the variables set, as a deployment would start it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from project.settings import BASE_DIR, _database_from_url

ROOT = Path(__file__).resolve().parent.parent

# The variables project/settings.py reads; cleared so the developer's shell cannot leak in.
DEMO_VARIABLES = {
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "REDIS_URL",
    "CONN_MAX_AGE",
    "DATABASE_POOL_MAX_SIZE",
    "DATABASE_POOL_MIN_SIZE",
    "DATABASE_POOL_TIMEOUT",
    "MEDIA_ROOT",
    "SECURE_COOKIES",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
    "SILENCED_SYSTEM_CHECKS",
    "PYTEST_XDIST_WORKER",
}


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in DEMO_VARIABLES}
    clean["DJANGO_SETTINGS_MODULE"] = "project.settings"
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_under(**env: str) -> dict:
    """The settings a process started with ``env`` ends up with, as JSON."""
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k, None) for k in ("
        "'DEBUG', 'ALLOWED_HOSTS', 'CSRF_TRUSTED_ORIGINS', 'CHANNEL_LAYERS', "
        "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_SSL_REDIRECT', "
        "'SECURE_HSTS_SECONDS', 'SECURE_HSTS_PRELOAD', 'SILENCED_SYSTEM_CHECKS', "
        "'MEDIA_ROOT')} | {'DATABASE': s.DATABASES['default']}, default=str))"
    )
    result = run(["-c", script], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def long_secret() -> str:
    return secrets.token_urlsafe(50)


# ---------------------------------------------------------------- DATABASE_URL


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("sqlite:////var/lib/chat/db.sqlite3", "/var/lib/chat/db.sqlite3"),
        ("sqlite:///relative.db", "relative.db"),
        ("sqlite:///with%20space.db", "with space.db"),
        ("sqlite://:memory:", ":memory:"),
        ("sqlite:///:memory:", ":memory:"),
        ("sqlite://", ":memory:"),
    ],
)
def test_sqlite_urls(url: str, name: str) -> None:
    assert _database_from_url(url) == {"ENGINE": "django.db.backends.sqlite3", "NAME": name}


def test_postgres_url_with_credentials_port_and_options() -> None:
    config = _database_from_url("postgres://chat:p%40ss%2Fw@db.example:6543/chat?sslmode=require")
    assert config == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "chat",
        "USER": "chat",
        "PASSWORD": "p@ss/w",
        "HOST": "db.example",
        "PORT": "6543",
        "OPTIONS": {"sslmode": "require"},
    }


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "pgsql"])
def test_postgres_scheme_aliases(scheme: str) -> None:
    assert _database_from_url(f"{scheme}://localhost/chat")["ENGINE"].endswith("postgresql")


def test_postgres_unix_socket_directory_keeps_its_case() -> None:
    config = _database_from_url("postgresql://chat@%2Ftmp%2FPgSocket:5433/chat")
    assert (config["HOST"], config["PORT"], config["USER"]) == ("/tmp/PgSocket", "5433", "chat")


def test_postgres_without_host_uses_libpq_defaults() -> None:
    config = _database_from_url("postgres:///chat")
    assert (config["NAME"], config["HOST"], config["PORT"]) == ("chat", "", "")


def test_unsupported_database_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="mysql"):
        _database_from_url("mysql://localhost/chat")


# ---------------------------------------------------------------- the environment


def test_embedded_defaults_are_sqlite_and_an_in_memory_layer() -> None:
    config = settings_under()
    assert config["DEBUG"] is True
    assert config["DATABASE"]["ENGINE"] == "chatwidget.backends.sqlite3"
    assert config["DATABASE"]["NAME"] == str(BASE_DIR / "db.sqlite3")
    assert config["DATABASE"]["CONN_MAX_AGE"] == 60
    layer = config["CHANNEL_LAYERS"]["default"]["BACKEND"]
    assert layer == "chatwidget.layers.InMemoryChannelLayer"
    assert config["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost"]


def test_scale_out_variables_switch_database_and_channel_layer() -> None:
    config = settings_under(
        DATABASE_URL="postgres://chat:pw@127.0.0.1:5432/chat",
        REDIS_URL="redis://127.0.0.1:6379/1",
        ALLOWED_HOSTS="chat.example,www.chat.example",
        CSRF_TRUSTED_ORIGINS="https://chat.example",
        MEDIA_ROOT="/srv/chat/media",
    )
    assert config["DATABASE"]["ENGINE"] == "django.db.backends.postgresql"
    assert config["DATABASE"]["CONN_MAX_AGE"] == 0
    assert config["DATABASE"]["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 10,
                                                     "timeout": 10.0}
    layer = config["CHANNEL_LAYERS"]["default"]
    assert layer == {
        "BACKEND": "chatwidget.redis_layer.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": ["redis://127.0.0.1:6379/1"]},
    }
    assert config["ALLOWED_HOSTS"] == ["chat.example", "www.chat.example"]
    assert config["CSRF_TRUSTED_ORIGINS"] == ["https://chat.example"]
    assert config["MEDIA_ROOT"] == "/srv/chat/media"


def test_postgres_connections_come_from_a_pool_of_the_size_asked_for() -> None:
    # Threads x workers would otherwise each keep a connection until PostgreSQL refuses.
    config = settings_under(DATABASE_URL="postgres://chat@127.0.0.1/chat?sslmode=require",
                            DATABASE_POOL_MAX_SIZE="4", DATABASE_POOL_MIN_SIZE="1",
                            DATABASE_POOL_TIMEOUT="2.5")
    assert config["DATABASE"]["OPTIONS"] == {
        "sslmode": "require", "pool": {"min_size": 1, "max_size": 4, "timeout": 2.5}}
    assert config["DATABASE"]["CONN_MAX_AGE"] == 0


def test_persistent_connections_beside_the_pool_are_refused_at_start_up() -> None:
    result = run(["-c", "import django; django.setup()"],
                 DATABASE_URL="postgres://chat@127.0.0.1/chat", CONN_MAX_AGE="60")
    assert result.returncode != 0
    assert "DATABASE_POOL_MAX_SIZE=0" in result.stderr


def test_without_the_pool_postgres_connects_per_thread_for_pgbouncer() -> None:
    config = settings_under(DATABASE_URL="postgres://chat@127.0.0.1:6432/chat",
                            DATABASE_POOL_MAX_SIZE="0", CONN_MAX_AGE="30")
    assert "pool" not in config["DATABASE"]["OPTIONS"]
    assert config["DATABASE"]["CONN_MAX_AGE"] == 30


def test_production_mode_turns_on_https_settings() -> None:
    config = settings_under(DEBUG="False", SECRET_KEY=long_secret())
    assert config["DEBUG"] is False
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["CSRF_COOKIE_SECURE"] is True
    assert config["SECURE_SSL_REDIRECT"] is True
    assert config["SECURE_HSTS_SECONDS"] == 3600
    assert config["SILENCED_SYSTEM_CHECKS"] == ["security.W021"]


def test_hsts_preload_is_an_explicit_choice() -> None:
    config = settings_under(DEBUG="False", SECRET_KEY=long_secret(), SECURE_HSTS_PRELOAD="1")
    assert config["SECURE_HSTS_PRELOAD"] is True
    assert config["SILENCED_SYSTEM_CHECKS"] == []


def test_production_mode_refuses_to_start_without_a_secret_key() -> None:
    result = run(["manage.py", "check"], DEBUG="False")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


# ---------------------------------------------------------------- Django's checks


def test_check_is_clean_on_the_demo_settings() -> None:
    result = run(["manage.py", "check", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_is_clean_on_production_settings() -> None:
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="False",
        SECRET_KEY=long_secret(),
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_without_redis_only_warns_about_the_in_memory_layer() -> None:
    result = run(["manage.py", "check", "--deploy"], DEBUG="False", SECRET_KEY=long_secret())
    assert result.returncode == 0, result.stderr
    findings = [line for line in result.stderr.splitlines() if line.startswith("?: (")]
    assert [line.split(")")[0] for line in findings] == ["?: (chatwidget.W001"]


# ---------------------------------------------------------------- documentation


def test_every_chatwidget_setting_is_documented() -> None:
    from chatwidget.conf import DEFAULTS

    documented = (ROOT / "docs" / "settings.md").read_text()
    assert [key for key in DEFAULTS if f"| `{key}` |" not in documented] == []


def test_every_environment_variable_of_the_demo_is_documented() -> None:
    source = (ROOT / "project" / "settings.py").read_text()
    read = set(re.findall(r"""(?:environ\.get|_env_bool)\(\s*"([A-Z_]+)\"""", source))
    documented = (ROOT / "docs" / "settings.md").read_text()
    assert read >= {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL"}
    assert sorted(v for v in read - {"PYTEST_XDIST_WORKER"} if f"| `{v}` |" not in documented) == []
