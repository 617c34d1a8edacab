"""Concurrent identity requests on real PostgreSQL, across two worker processes (issue 12).

Real HTTP fired from threads that start together: one browser's pings, many browsers
identifying as one external id, one browser logging in many times at once. None may
answer 500, and none may leave a duplicate contact behind.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from concurrent.futures import ThreadPoolExecutor

from tests.servers import manage

from .browser import Browser

CONCURRENCY = 8


def all_at_once(calls: list) -> list:
    """Run the calls on threads released together by a barrier; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def count(site, query: str) -> int:
    script = f"from chatwidget.models import *; print('COUNT', {query})"
    output = manage("shell", "-c", script, env=site["env"]).stdout
    return int(output.split("COUNT", 1)[1].split()[0])


def workers(servers, n: int) -> list:
    return [servers[i % len(servers)] for i in range(n)]


def test_concurrent_pings_of_one_browser_keep_one_contact(servers, site):
    browser = Browser()
    status, first = browser.post(servers[0].url, "/chatwidget/api/ping/")
    assert status == 200, first

    answers = all_at_once([
        (lambda server=server: Browser(browser.cookies).post(server.url,
                                                             "/chatwidget/api/ping/"))
        for server in workers(servers, CONCURRENCY)
    ])

    assert [status for status, _ in answers] == [200] * CONCURRENCY, answers
    assert {data["contact"]["id"] for _, data in answers} == {first["contact"]["id"]}


def test_concurrent_first_pings_of_many_browsers_never_fail(servers, site):
    answers = all_at_once([
        (lambda server=server: Browser().post(server.url, "/chatwidget/api/ping/",
                                              {"transport": "bearer"}))
        for server in workers(servers, CONCURRENCY)
    ])

    assert [status for status, _ in answers] == [200] * CONCURRENCY, answers
    assert len({data["contact"]["id"] for _, data in answers}) == CONCURRENCY


def test_concurrent_identifies_of_one_external_id_make_one_contact(servers, site):
    secret_script = ("from chatwidget import identity; "
                     "print('SECRET', identity.get_widget().identity_secret)")
    output = manage("shell", "-c", secret_script, env=site["env"]).stdout
    secret = output.split("SECRET", 1)[1].split()[0]
    user_hash = hmac.new(secret.encode(), b"race-1", hashlib.sha256).hexdigest()
    browsers = [Browser() for _ in range(CONCURRENCY)]
    for browser, server in zip(browsers, workers(servers, CONCURRENCY), strict=True):
        browser.post(server.url, "/chatwidget/api/ping/")
        browser.post(server.url, "/chatwidget/api/conversations/", {"body": "before"})

    answers = all_at_once([
        (lambda browser=browser, server=server: browser.post(
            server.url, "/chatwidget/api/identify/",
            {"external_id": "race-1", "user_hash": user_hash}))
        for browser, server in zip(browsers, workers(servers, CONCURRENCY), strict=True)
    ])

    assert [status for status, _ in answers] == [200] * CONCURRENCY, answers
    assert len({data["contact"]["id"] for _, data in answers}) == 1
    assert count(site, "Contact.objects.filter(external_id='race-1').count()") == 1
    # Every browser's anonymous history arrived.
    assert count(site, "Message.objects.filter(contact__external_id='race-1', "
                       "body='before').count()") == CONCURRENCY


def test_concurrent_logins_of_one_user_from_one_anonymous_browser(servers, site):
    browser = Browser()
    browser.post(servers[0].url, "/chatwidget/api/ping/")
    browser.post(servers[0].url, "/chatwidget/api/conversations/", {"body": "anonymous"})

    answers = all_at_once([
        (lambda server=server: Browser(browser.cookies).post(
            server.url, "/accounts/login/",
            {"username": "alice", "password": "pw-alice-123"}, form=True))
        for server in workers(servers, CONCURRENCY)
    ])

    assert [status for status, _ in answers] == [302] * CONCURRENCY, answers
    assert count(site, "Contact.objects.filter(user__username='alice').count()") == 1
    assert count(site, "Message.objects.filter(contact__user__username='alice', "
                       "body='anonymous').count()") == 1
