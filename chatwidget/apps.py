from django.apps import AppConfig


class ChatWidgetConfig(AppConfig):
    name = "chatwidget"
    verbose_name = "Chat widget"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.contrib.auth.signals import user_logged_in, user_logged_out
        from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

        from . import (
            checks,  # noqa: F401  registers the system checks
            signals,
        )
        from .agents import on_presence_changed
        from .datarights import erase_user_contacts
        from .models import AgentPresence

        user_logged_in.connect(signals.on_user_logged_in,
                               dispatch_uid="chatwidget.user_logged_in")
        user_logged_out.connect(signals.on_user_logged_out,
                                dispatch_uid="chatwidget.user_logged_out")
        # Sockets follow the user's password, activity and rights (DESIGN §3).
        user_model = get_user_model()
        post_save.connect(signals.on_user_saved, sender=user_model,
                          dispatch_uid="chatwidget.user_saved")
        post_delete.connect(signals.on_user_deleted, sender=user_model,
                            dispatch_uid="chatwidget.user_deleted")
        rights = [getattr(user_model, name, None) for name in ("user_permissions", "groups")]
        rights.append(Group.permissions)
        for field in rights:
            if field is not None and hasattr(field, "through"):
                m2m_changed.connect(signals.on_rights_changed, sender=field.through,
                                    dispatch_uid=f"chatwidget.rights.{field.through._meta.label}")
        # "We are online" as the ping shows it is remembered briefly (agents.shown_online).
        for signal in (post_save, post_delete):
            signal.connect(on_presence_changed, sender=AgentPresence,
                           dispatch_uid="chatwidget.presence_changed")
        # Deleting a site user erases (or anonymises) their chat data (docs/data-rights.md).
        pre_delete.connect(erase_user_contacts, sender=user_model,
                           dispatch_uid="chatwidget.erase_user_contacts")
