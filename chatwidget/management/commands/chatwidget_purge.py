"""``manage.py chatwidget_purge``: the retention purge, for cron (docs/data-rights.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ... import conf, datarights


class Command(BaseCommand):
    help = ("Delete closed conversations and idle anonymous contacts older than "
            "CHATWIDGET['RETENTION_DAYS'] (with their files), and revoked or expired token "
            "rows. Safe to run on several hosts at once.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="Print what would be deleted; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        days = conf.get("RETENTION_DAYS")
        if days is None:
            self.stdout.write("RETENTION_DAYS is None: conversations and contacts are kept.")
        result = datarights.purge(dry_run=options["dry_run"])
        verb = "Would delete" if options["dry_run"] else "Deleted"
        self.stdout.write(f"{verb} {result}.")
