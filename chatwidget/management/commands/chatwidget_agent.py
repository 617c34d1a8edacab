"""``manage.py chatwidget_agent USERNAME [--remove]``: make a user an agent, or stop."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chatwidget import agents


class Command(BaseCommand):
    help = (f'Add a user to the "{agents.GROUP_NAME}" group and make them staff, so they can '
            "use the inbox and the admin pages an agent needs (--remove undoes it).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--remove", action="store_true",
                            help="Take the user out of the group (and staff status, if "
                                 "nothing else needs it).")

    def handle(self, *args: Any, username: str, remove: bool = False, **options: Any) -> None:
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        if remove:
            agents.remove_agent(user)
            self.stdout.write(f"{username} is no longer a chat agent.")
        else:
            agents.make_agent(user)
            self.stdout.write(self.style.SUCCESS(f"{username} is a chat agent") +
                              f" (staff, group {agents.GROUP_NAME!r}).")
