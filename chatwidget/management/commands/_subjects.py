"""How chatwidget_export and chatwidget_erase name the contacts they act on."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from ... import datarights
from ...models import Contact


def add_arguments(parser: CommandParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--contact", type=int, metavar="ID", help="A contact id.")
    which.add_argument("--user", metavar="USERNAME",
                       help="Every contact of this site user (one per widget).")
    which.add_argument("--external-id", metavar="ID",
                       help="The contact identified by this external id.")
    parser.add_argument("--widget", metavar="APP_ID",
                        help="Limit --user / --external-id to one widget.")
    parser.add_argument("--actor", metavar="USERNAME",
                        help=f"Who the admin log names (default: {datarights.SYSTEM_USERNAME}).")


def contacts(options: dict[str, Any]) -> list[Contact]:
    queryset = Contact.objects.order_by("id")
    if options["contact"] is not None:
        return list(queryset.filter(pk=options["contact"]))
    if options["user"] is not None:
        User = get_user_model()
        try:
            user = User._default_manager.get_by_natural_key(options["user"])
        except User.DoesNotExist:
            raise CommandError(f"No user {options['user']!r}.") from None
        queryset = queryset.filter(user=user)
    else:
        queryset = queryset.filter(external_id=options["external_id"])
    if options["widget"]:
        queryset = queryset.filter(widget__app_id=options["widget"])
    return list(queryset)


def actor(options: dict[str, Any]) -> Any:
    try:
        return datarights.system_actor(options["actor"])
    except get_user_model().DoesNotExist:
        raise CommandError(f"No user {options['actor']!r} for --actor.") from None
