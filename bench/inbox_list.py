"""``python -m bench.inbox_list``: the agents' conversation list on a big inbox.

Fills a throwaway SQLite file (or ``DATABASE_URL``) with 10,000 conversations and 100,000
messages by ``bulk_create``, then times ``GET chatwidget/api/agent/conversations/``
through the whole Django stack (middleware, session auth, DRF) with the test client, so
the figure is server time without the network: the first page, a filter (``mine``), a
search over message text, and the second page by cursor. Prints p50/p99 ms per case.

    python -m bench.inbox_list                       # 10,000 / 100,000, 200 requests per case
    python -m bench.inbox_list --conversations 1000 --messages 10000 --requests 50
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.inbox_list",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per case")
    return parser.parse_args(argv)


def fill(conversations: int, messages: int) -> object:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from chatwidget import agents, identity
    from chatwidget.models import Contact, Conversation, Message

    agent = get_user_model().objects.create_user("bench-inbox-agent", first_name="Ada")
    agents.make_agent(agent)
    widget = identity.get_widget()
    now = timezone.now()
    contacts = Contact.objects.bulk_create(
        [Contact(widget=widget, name=f"Customer {i}", email=f"customer{i}@example.com")
         for i in range(conversations)], batch_size=2000)
    rows = Conversation.objects.bulk_create(
        [Conversation(widget=widget, contact=contact,
                      status="closed" if i % 5 == 0 else "open",
                      assignee=agent if i % 3 == 0 else None,
                      agent_unread_count=i % 4,
                      updated_at=now - timedelta(seconds=conversations - i),
                      last_message_at=now - timedelta(seconds=conversations - i))
         for i, contact in enumerate(contacts)], batch_size=2000)
    per = max(messages // conversations, 1)
    words = ["order", "refund", "shipping", "password", "invoice", "delivery", "account"]
    Message.objects.bulk_create(
        [Message(conversation=conversation, contact_id=conversation.contact_id,
                 sender_kind="contact" if k % 2 == 0 else "agent",
                 sender_user=None if k % 2 == 0 else agent,
                 body=f"Message {k} about my {words[(i + k) % len(words)]} #{i}",
                 created_at=conversation.updated_at - timedelta(seconds=per - k))
         for i, conversation in enumerate(rows) for k in range(per)], batch_size=5000)
    return agent


def measure(client: object, query: dict[str, str], requests: int) -> dict[str, float]:
    from bench.hist import Latency

    latency = Latency()
    url = "/chatwidget/api/agent/conversations/"
    for _ in range(3):  # warm caches
        client.get(url, query)
    for _ in range(requests):
        started = time.perf_counter_ns()
        response = client.get(url, query)
        latency.record_ns(time.perf_counter_ns() - started)
        assert response.status_code == 200, response.content[:200]
    return latency.summary()


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    root = Path(__file__).resolve().parent.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    workdir = tempfile.mkdtemp(prefix="chatwidget-inbox-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir}/inbox.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    agent = fill(args.conversations, args.messages)
    filled = time.perf_counter() - started
    client = Client()
    client.force_login(agent)
    first = client.get("/chatwidget/api/agent/conversations/", {"filter": "open"}).json()
    cases = {
        "first page (filter=open)": {"filter": "open"},
        "filter=mine": {"filter": "mine"},
        "search q=refund (message text)": {"q": "refund"},
        "second page (cursor)": {"filter": "open", "cursor": first["next_cursor"]},
    }
    print(f"inbox list on {connection.vendor}: {args.conversations:,} conversations, "
          f"{args.messages:,} messages (filled in {filled:.1f} s); "
          f"{args.requests} requests per case, page size 50\n")
    print("| case | p50 ms | p99 ms |\n|---|---|---|")
    for name, query in cases.items():
        summary = measure(client, query, args.requests)
        print(f"| {name} | {summary['p50']:.2f} | {summary['p99']:.2f} |")
    connection.close()
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
