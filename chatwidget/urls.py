"""Include with ``path("chatwidget/", include("chatwidget.urls"))``."""

from django.urls import include, path

from .api import views as api_views

app_name = "chatwidget"

urlpatterns = [
    path("api/", include("chatwidget.api.urls")),
    path("attachments/<int:pk>/", api_views.AttachmentDownloadView.as_view(), name="attachment"),
]
