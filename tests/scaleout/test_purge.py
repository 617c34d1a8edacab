"""Two retention purges at once against real PostgreSQL: shared work, no errors, no leftovers.

Cron may start ``chatwidget_purge`` on every host at the same minute. Both processes are
held at a start line and released together, then their reports must add up to exactly
what was due, and only that must be gone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.servers import REPO_ROOT, manage, server_env

SEED = textwrap.dedent("""
    from datetime import timedelta
    from django.core.files.base import ContentFile
    from django.utils import timezone
    from chatwidget import chat, identity
    from chatwidget.models import Attachment, Contact, Conversation, WidgetToken

    widget = identity.get_widget()
    old = timezone.now() - timedelta(days=60)

    def talk(contact, status, when, n):
        conversation, _ = chat.start_conversation(contact)
        message = chat.post_contact_message(contact, conversation.pk, f"m{n}").message
        Attachment.objects.create(conversation=conversation, message=message,
                                  file=ContentFile(b"x", name="f.txt"), name="f.txt",
                                  size=1, content_type="text/plain")
        Conversation.objects.filter(pk=conversation.pk).update(status=status, updated_at=when)

    for n in range(100):                       # recent visitors, 2 old closed threads each
        contact = identity.create_anonymous(widget).token.contact
        talk(contact, "closed", old, n)
        talk(contact, "closed", old, n)
        talk(contact, "closed", timezone.now(), n)     # closed recently: kept
        stale = identity.issue_token(contact).token     # a revoked token row: purged
        WidgetToken.objects.filter(pk=stale.pk).update(revoked_at=old)
    for n in range(100):                       # idle visitors with an open thread
        token = identity.create_anonymous(widget).token
        talk(token.contact, "open", old, n)
        Contact.objects.filter(pk=token.contact_id).update(last_seen_at=old)
""")

PURGE = textwrap.dedent("""
    import json, os, sys
    from django.test import override_settings
    from chatwidget import datarights

    print("READY", flush=True)
    sys.stdin.readline()                       # the start line: both released together
    with override_settings(CHATWIDGET={"RETENTION_DAYS": 30}):
        result = datarights.purge()
    print("RESULT " + json.dumps(result.__dict__), flush=True)
""")

COUNT = textwrap.dedent("""
    import json
    from chatwidget.models import Attachment, Contact, Conversation, WidgetToken
    print("COUNT " + json.dumps([Conversation.objects.count(), Contact.objects.count(),
                                 Attachment.objects.count(), WidgetToken.objects.count()]))
""")


def test_two_concurrent_purges_share_the_work_without_errors(postgres, tmp_path):
    media = tmp_path / "media"
    env = {"DATABASE_URL": postgres.url, "MEDIA_ROOT": str(media), "DEBUG": "1"}
    manage("migrate", "--noinput", env=env)
    manage("shell", "-c", SEED, env=env)
    files_before = sum(1 for p in Path(media).rglob("*") if p.is_file())
    assert files_before == 400

    purges = [
        subprocess.Popen([sys.executable, "manage.py", "shell", "-v", "0", "-c", PURGE],
                         cwd=REPO_ROOT, env=server_env(env), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for purge in purges:
        line = purge.stdout.readline()
        while line and line.strip() != "READY":  # skip whatever the shell prints first
            line = purge.stdout.readline()
        assert line, "a purge process exited before the start line"
    for purge in purges:
        purge.stdin.write("go\n")
        purge.stdin.flush()
    outputs = [purge.communicate(timeout=300) for purge in purges]

    results = []
    for purge, (out, err) in zip(purges, outputs, strict=True):
        assert purge.returncode == 0, err
        results.append(json.loads(out.split("RESULT ", 1)[1]))
    print("purge split between the two processes:", results)
    total = {key: sum(r[key] for r in results) for key in results[0]}
    assert total == {"conversations": 200, "contacts": 100, "attachments": 300,
                     "tokens": 100}
    out = manage("shell", "-c", COUNT, env=env).stdout
    conversations, contacts, attachments, tokens = json.loads(out.split("COUNT ", 1)[1])
    assert (conversations, contacts, attachments, tokens) == (100, 100, 100, 100)
    assert sum(1 for p in Path(media).rglob("*") if p.is_file()) == 100
