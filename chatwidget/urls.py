"""Include with ``path("chatwidget/", include("chatwidget.urls"))``.

URL names live in the ``chatwidget`` namespace (``chatwidget:ping``, ``chatwidget:schema``,
``chatwidget:attachment``...), so they never clash with the host project's.
"""

from django.urls import include, path, re_path

from . import views
from .api.base import not_found
from .api.downloads import AttachmentDownloadView
from .validation import register_id_converter

register_id_converter()

app_name = "chatwidget"

urlpatterns = [
    path("api/", include("chatwidget.api.urls")),
    path("attachments/<cw_id:pk>/", AttachmentDownloadView.as_view(), name="attachment"),
    # A logged-in site user's own chat data (docs/data-rights.md).
    path("export/", views.my_export, name="my-export"),
    re_path(r"^attachments/", not_found),
]
