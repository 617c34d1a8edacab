"""The site's URLs plus the bare views P3 and ``bench.http_cpu`` compare against."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


@csrf_exempt
async def bare(request: HttpRequest) -> JsonResponse:
    """What any Django view costs in this server and middleware stack, and nothing more."""
    return JsonResponse({"ok": True})


@csrf_exempt
def bare_sync(request: HttpRequest) -> JsonResponse:
    """The same as a synchronous view: the thread hop a sync view adds under ASGI."""
    return JsonResponse({"ok": True})


class BareAPIView(APIView):
    """The same through DRF (no authentication, no throttle): what DRF itself adds."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        return Response({"ok": True})


urlpatterns = [
    path("bench/bare/", bare),
    path("bench/bare-sync/", bare_sync),
    path("bench/bare-drf/", BareAPIView.as_view()),
    path("", include("project.urls")),
]
