"""``manage.py chatwidget_erase``: erase a contact's chat data (``--dry-run`` to preview)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ... import conf, datarights
from . import _subjects


class Command(BaseCommand):
    help = ("Erase a contact's messages, attachments (and their files), tokens and the "
            "contact itself, or anonymise it (CHATWIDGET['ERASE_MODE']); closes its open "
            "chats. Running it again is harmless.")

    def add_arguments(self, parser: CommandParser) -> None:
        _subjects.add_arguments(parser)
        parser.add_argument("--dry-run", action="store_true",
                            help="Print what would be erased; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        contacts = _subjects.contacts(options)
        if not contacts:
            self.stdout.write("No contact matches: nothing to erase.")
            return
        if options["dry_run"]:
            for contact in contacts:
                plan = datarights.plan_erase(contact)
                self.stdout.write(f"Would erase ({conf.get('ERASE_MODE')}) {plan}; files:")
                for name in plan.files:
                    self.stdout.write(f"  {name}")
            return
        actor = _subjects.actor(options)
        for contact in contacts:
            erasure = datarights.erase_contact(contact, actor=actor)
            self.stdout.write(f"Erased ({conf.get('ERASE_MODE')}) {erasure}.")
