"""The bench names the exception behind every 5xx it saw, read from the server's log."""

from __future__ import annotations

import logging
import traceback

from bench.serverlog import server_errors


def _django_request_error(path: str, error: BaseException) -> str:
    """What django.request logs for a 500, formatted by logging as the server writes it."""
    try:
        raise error
    except BaseException:
        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1,
                                   "Internal Server Error: %s", (path,), exc_info=None)
        record.exc_text = traceback.format_exc()
    return logging.Formatter().format(record)


def _chained() -> BaseException:
    try:
        try:
            raise KeyError("token")
        except KeyError as inner:
            raise RuntimeError("merge failed") from inner
    except RuntimeError as outer:
        return outer


def test_each_request_is_counted_once_by_the_exception_that_ended_it():
    log = "\n".join([
        "INFO: started",
        _django_request_error("/chatwidget/api/ping/", _chained()),
        _django_request_error("/chatwidget/api/ping/", _chained()),
        _django_request_error("/chatwidget/api/identify/", ValueError("bad hash")),
    ])
    errors = server_errors(log)
    assert errors == [
        {"request": "/chatwidget/api/ping/", "exception": "RuntimeError: merge failed",
         "count": 2},
        {"request": "/chatwidget/api/identify/", "exception": "ValueError: bad hash",
         "count": 1},
    ]


def test_a_clean_log_has_no_server_errors():
    assert server_errors("INFO: Started server process\nINFO: Application startup") == []
