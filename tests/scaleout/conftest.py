"""Two ASGI server processes sharing a real redis-server and a real PostgreSQL."""

from __future__ import annotations

import textwrap

import pytest

from tests.servers import manage, start_asgi_server, start_postgres, start_redis

AGENT_SCRIPT = textwrap.dedent("""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.contrib.sessions.backends.db import SessionStore

    User = get_user_model()
    agent = User.objects.create_user("agent", password="pw-agent-123", is_staff=True,
                                     first_name="Ada")
    agent.user_permissions.add(Permission.objects.get(codename="use_inbox"))
    User.objects.create_user("alice", password="pw-alice-123")
    session = SessionStore()
    session[SESSION_KEY] = str(agent.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = agent.get_session_auth_hash()
    session.create()
    print("SESSION", session.session_key)
""")


@pytest.fixture(scope="module")
def redis():
    server = start_redis()
    yield server
    server.close()


@pytest.fixture(scope="module")
def postgres():
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def site(redis, postgres):
    """The shared environment, migrated, with an agent whose session id is returned."""
    env = {"DATABASE_URL": postgres.url, "REDIS_URL": redis.url, "DEBUG": "1",
           "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    manage("migrate", "--noinput", env=env)
    output = manage("shell", "-c", AGENT_SCRIPT, env=env).stdout
    session_key = output.split("SESSION", 1)[1].split()[0]
    return {"env": env, "agent_cookies": {"sessionid": session_key}}


@pytest.fixture(scope="module")
def servers(site):
    """Worker A and worker B: two processes, one site."""
    a = start_asgi_server(env=site["env"])
    try:
        b = start_asgi_server(env=site["env"], server="uvicorn")
    except BaseException:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()
