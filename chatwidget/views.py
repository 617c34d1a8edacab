"""Pages for the site's own users, outside the widget API.

``chatwidget:my-export`` lets a logged-in site user download what the chat stores about
them (their contacts on every widget), so the site can link it from its account page.
Private agent notes are never in it.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import datarights
from .api.datarights import zip_response
from .models import Contact


@require_GET
@never_cache
@login_required
def my_export(request: HttpRequest) -> HttpResponseBase:
    """``?files=1``: a zip with the attachment files; otherwise one JSON document."""
    contacts = list(Contact.objects.filter(user=request.user).order_by("id"))
    if request.GET.get("files") in {"1", "true"}:
        return zip_response(contacts, actor=request.user, for_agent=False,
                            filename="chat-data.zip")
    document = {
        "format": datarights.EXPORT_FORMAT,
        "exportedAt": timezone.now().isoformat(),
        "contacts": [datarights.export_contact(contact, actor=request.user, for_agent=False)
                     for contact in contacts],
    }
    response = HttpResponse(datarights.dumps(document), content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="chat-data.json"'
    return response
