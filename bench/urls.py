"""The site's URLs plus the bare async view P3 uses as its baseline."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
async def bare(request: HttpRequest) -> JsonResponse:
    """What any Django view costs in this server and middleware stack, and nothing more."""
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/bare/", bare),
    path("", include("project.urls")),
]
