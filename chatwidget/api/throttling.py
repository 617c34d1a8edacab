"""REST throttles: DRF's classes, counting through ``chatwidget.ratelimit``.

Rates come from ``CHATWIDGET["THROTTLE_RATES"]`` (never the project's ``REST_FRAMEWORK``,
like everything else in this API), keyed per client IP (DRF's ``get_ident``, which honours
``REST_FRAMEWORK["NUM_PROXIES"]``) and per contact. Every window is counted by
``ratelimit.hit`` in ``CHATWIDGET["CACHE"]``, the sockets' counter (on Redis one atomic
round trip); messages share one budget with the socket; uploads have a byte quota. A
refusal is DRF's ``Throttled``: 429, the JSON error shape and ``Retry-After``.
"""

from __future__ import annotations

import math
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from .. import conf, ratelimit


def rate_owner(request: Request) -> tuple[str, Any] | None:
    """Whose budget a request spends: the visitor's contact or the agent (as on sockets)."""
    token = request.auth
    contact_id = getattr(token, "contact_id", None)
    if contact_id is not None:
        return ("contact", contact_id)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return ("agent", user.pk)
    return None


class ChatWidgetThrottle(SimpleRateThrottle):
    """``scope`` names a rate in THROTTLE_RATES; ``per`` is "ip" or "contact"."""

    per = "ip"
    # Unsafe methods only: reading a conversation is not what these budgets are about.
    methods = frozenset({"POST"})

    @property
    def cache(self) -> Any:  # type: ignore[override]
        return ratelimit.cache()

    def get_rate(self) -> str | None:
        # Keys left out keep their default; None turns one off.
        rates = {**conf.DEFAULTS["THROTTLE_RATES"], **conf.get("THROTTLE_RATES")}
        return rates.get(self.scope)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.method not in self.methods:
            return None
        if self.per == "ip":
            return ratelimit.cache_key(self.scope, self.get_ident(request))
        owner = rate_owner(request)
        return ratelimit.cache_key(self.scope, owner) if owner else None

    def allow_request(self, request: Request, view: Any) -> bool:
        # DRF's window, counted where the sockets count theirs (and failing open as they do
        # when the cache is down), instead of DRF's read-then-write of the history.
        self._wait = None
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self._wait = ratelimit.hit(self.key, self.num_requests, self.duration)
        return self._wait is None

    def wait(self) -> float | None:
        # Whole seconds, and never 0: a refusal always tells the client when to come back.
        return max(1, math.ceil(self._wait)) if self._wait is not None else None


def throttles(name: str) -> list[type[ChatWidgetThrottle]]:
    """The per-IP and per-contact throttle classes of one operation."""
    return [
        type(f"{name.title()}IPThrottle", (ChatWidgetThrottle,),
             {"scope": f"{name}_ip", "per": "ip", "__module__": __name__}),
        type(f"{name.title()}ContactThrottle", (ChatWidgetThrottle,),
             {"scope": f"{name}_contact", "per": "contact", "__module__": __name__}),
    ]


PingThrottles = throttles("ping")
IdentifyThrottles = throttles("identify")
ConversationThrottles = throttles("conversation")


class MessageThrottle(ChatWidgetThrottle):
    """RATE_LIMIT_MESSAGES per RATE_LIMIT_WINDOW per sender, the socket's budget too."""

    per = "contact"

    def get_rate(self) -> str | None:
        return "{}/s".format(conf.get("RATE_LIMIT_MESSAGES"))

    def parse_rate(self, rate: str | None) -> tuple[int, int]:
        return ratelimit.message_limit()

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        owner = rate_owner(request) if request.method in self.methods else None
        return ratelimit.message_key(owner) if owner else None


class MessageIPThrottle(ChatWidgetThrottle):
    scope = "message_ip"


class UploadQuotaThrottle(ChatWidgetThrottle):
    """UPLOAD_QUOTA bytes per UPLOAD_QUOTA_WINDOW seconds per contact, for multipart sends.

    Counted from Content-Length before the body is read: an upload over the quota is
    refused without being received, and a refused one costs nothing.
    """

    per = "contact"
    scope = "uploads"

    def get_rate(self) -> str | None:
        return "{}/s".format(conf.get("UPLOAD_QUOTA"))

    def parse_rate(self, rate: str | None) -> tuple[int, int]:
        return conf.get("UPLOAD_QUOTA"), conf.get("UPLOAD_QUOTA_WINDOW")

    def allow_request(self, request: Request, view: Any) -> bool:
        self._wait = None
        if not request.content_type.startswith("multipart/"):
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        try:
            size = max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
        except ValueError:
            size = 0
        try:
            return self.within_quota(size)
        except Exception as error:  # the cache is down: fail open
            ratelimit.unavailable(self.key, error)
            return True

    def within_quota(self, size: int) -> bool:
        now = self.timer()
        # [(time, bytes)], newest first, like DRF's history.
        history = [(t, n) for t, n in self.cache.get(self.key, []) if t > now - self.duration]
        used = sum(n for _, n in history)
        if history and used + size > self.num_requests:
            # Wait until enough of the oldest uploads fall out of the window.
            free, wait = self.num_requests - size, 0.0
            for t, n in reversed(history):
                used -= n
                wait = t + self.duration - now
                if used <= free:
                    break
            self._wait = max(wait, 0.0)
            return False
        self.cache.set(self.key, [(now, size), *history], self.duration)
        return True
