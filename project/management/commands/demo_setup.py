"""``manage.py demo_setup``: the demo's site user and staff agent, with known passwords.

Idempotent: run it again and the same two accounts exist with the same passwords, so the
credentials it prints always work. Known passwords are only acceptable on a development
database, hence the refusal when DEBUG is False unless --force says otherwise.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from chatwidget import agents, identity

DEMO_USER = ("demo", "demo-visitor-pw", "demo@example.com", "Demo", "Visitor")
DEMO_AGENT = ("agent", "demo-agent-pw", "agent@example.com", "Ada", "Agent")


class Command(BaseCommand):
    help = "Create (or reset) the demo site user and staff agent, and the default widget."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG=False (creates accounts with published passwords).",
        )

    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is False: refusing to create accounts with published passwords. "
                "Use --force if this really is a throwaway demo."
            )
        with transaction.atomic():
            widget = identity.get_widget()
            user = self._account(*DEMO_USER, staff=False)
            agent = self._account(*DEMO_AGENT, staff=True)
            # Exactly what `manage.py chatwidget_agent` grants: nothing more by hand.
            agent.user_permissions.clear()
            agents.make_agent(agent)
        self.stdout.write(
            self.style.SUCCESS("chatwidget demo ready")
            + "\n"
            + f"  site user : {user.get_username()} / {DEMO_USER[1]}"
            "   (log in at http://127.0.0.1:8000/accounts/login/)\n"
            + f"  agent     : {agent.get_username()} / {DEMO_AGENT[1]}"
            "   (a chat agent; http://127.0.0.1:8000/admin/)\n"
            + f"  widget    : app_id {widget.app_id!r}\n"
        )

    def _account(
        self, username: str, password: str, email: str, first: str, last: str, *, staff: bool
    ) -> Any:
        User = get_user_model()
        user, _ = User.objects.get_or_create(**{User.USERNAME_FIELD: username})
        user.email, user.first_name, user.last_name = email, first, last
        user.is_staff = staff
        user.is_superuser = False
        user.is_active = True
        user.set_password(password)
        user.save()
        return user
