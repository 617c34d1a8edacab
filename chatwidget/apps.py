from django.apps import AppConfig


class ChatWidgetConfig(AppConfig):
    name = "chatwidget"
    verbose_name = "Chat widget"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in, user_logged_out
        from django.db.models.signals import pre_delete

        from . import checks  # noqa: F401  registers the system checks
        from .datarights import erase_user_contacts
        from .signals import on_user_logged_in, on_user_logged_out

        user_logged_in.connect(on_user_logged_in, dispatch_uid="chatwidget.user_logged_in")
        user_logged_out.connect(on_user_logged_out, dispatch_uid="chatwidget.user_logged_out")
        pre_delete.connect(erase_user_contacts, sender=get_user_model(),
                           dispatch_uid="chatwidget.erase_user_contacts")
