"""``manage.py chatwidget_export``: a contact's chat data as JSON (stdout) or a zip."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ... import datarights
from . import _subjects


class Command(BaseCommand):
    help = ("Export everything the chat stores about a contact: JSON on stdout, or with "
            "--zip PATH a zip holding the JSON and the attachment files.")

    def add_arguments(self, parser: CommandParser) -> None:
        _subjects.add_arguments(parser)
        parser.add_argument("--zip", metavar="PATH", help="Write a zip with files to PATH.")

    def handle(self, *args: Any, **options: Any) -> None:
        contacts = _subjects.contacts(options)
        if not contacts:
            raise CommandError("No contact matches.")
        actor = _subjects.actor(options)
        if options["zip"]:
            with open(options["zip"], "wb") as out:
                datarights.write_zip(out, contacts, actor=actor, for_agent=True)
            self.stderr.write(f"Wrote {len(contacts)} contact(s) to {options['zip']}.")
            return
        documents = [datarights.export_contact(c, actor=actor, for_agent=True)
                     for c in contacts]
        if options["contact"] is not None:
            output: Any = documents[0]
        else:
            output = {"format": datarights.EXPORT_FORMAT,
                      "exportedAt": timezone.now().isoformat(), "contacts": documents}
        self.stdout.write(datarights.dumps(output).decode())
