"""Settings for a demo site behind a strict, nonce-based Content-Security-Policy.

``DJANGO_SETTINGS_MODULE=tests.browser.csp_site``: the demo project plus a middleware that
sets ``request.csp_nonce`` (as django-csp does) and a policy with no 'unsafe-inline', no
'unsafe-eval' and no 'self' for scripts or styles, so only what carries the nonce runs.
"""

import secrets

from project.settings import *  # noqa: F403
from project.settings import MIDDLEWARE

MIDDLEWARE = [*MIDDLEWARE, "tests.browser.csp_site.StrictCSPMiddleware"]

POLICY = (
    "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
    "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'"
)


class StrictCSPMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(16)
        response = self.get_response(request)
        response.headers["Content-Security-Policy"] = POLICY.format(nonce=request.csp_nonce)
        return response
