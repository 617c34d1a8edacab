"""Concurrent identity requests on real PostgreSQL, across two worker processes (issue 12).

Real HTTP fired from threads that start together: one browser's pings, many browsers
identifying as one external id, one browser logging in many times at once. None may
answer 500, and none may leave a duplicate contact behind.
"""

from __future__ import annotations

from .browser import Browser
from .concurrency import all_at_once, count, user_hash, workers

CONCURRENCY = 8


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
    signature = user_hash(site, "race-1")
    browsers = [Browser() for _ in range(CONCURRENCY)]
    for browser, server in zip(browsers, workers(servers, CONCURRENCY), strict=True):
        browser.post(server.url, "/chatwidget/api/ping/")
        browser.post(server.url, "/chatwidget/api/conversations/", {"body": "before"})

    answers = all_at_once([
        (lambda browser=browser, server=server: browser.post(
            server.url, "/chatwidget/api/identify/",
            {"external_id": "race-1", "user_hash": signature}))
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
