"""The agent socket, ``ws/chatwidget/agent/``: the inbox (or a bot) of one staff user.

Authenticated by the Django session; only users the adapter calls agents get in. The
socket hears every widget's agent events, so the inbox needs no per-thread subscription.
While it is open (and sends a frame within ``PRESENCE_TIMEOUT``) its agent is online.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from .. import agents, chat, conf, events, identity, resume, validation
from ..adapter import get_adapter
from ..dbthreads import database_sync_to_async
from ..models import Conversation, Widget
from ..session import socket_site_user
from .base import ChatWidgetConsumer, CloseCode, FrameError, int_field


class AgentConsumer(ChatWidgetConsumer):
    typing_as_agent = True
    # A note is written like a message, so it spends the same budget.
    message_frames = frozenset({"message.send", "note.send"})
    frame_handlers = {
        "resume": "resume",
        "message.send": "message_send",
        "typing": "typing",
        "read": "read",
        "ping": "ping",
        "note.send": "note_send",
        "watch": "watch",
    }
    # Threads one socket may show at once (the inbox shows one; a wall board a few).
    watch_limit = 20

    async def connect(self) -> None:
        self.agent: Any = None
        self.widget_list: list[int] = []
        # The thread groups this socket joined with ``watch``.
        self.threads: set[str] = set()
        self.seen_at = 0.0
        if self.scope.get("chatwidget_cross_origin"):
            # Agents work on the site itself; its session cookie is never honoured cross-site.
            await self.close(code=int(CloseCode.FORBIDDEN))
            return
        user = self.scope.get("user")
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close_with(CloseCode.UNAUTHENTICATED)
            return
        self.agent = await self.load_agent(user.pk)
        if self.agent is None:
            await self.close_with(CloseCode.FORBIDDEN)
            return
        self.agent_name = get_adapter().agent_display_name(self.agent)
        self.widget_list = await self.widget_ids()
        # Online before joining: the other agents hear it, this socket need not.
        await self.mark_seen()
        groups = [events.user_group(self.agent.pk), *map(events.agents_group, self.widget_list)]
        if not await self.join_all(groups):
            return
        self.start_rechecks()
        await self.send_json({"type": "ready", "agent": {"id": self.agent.pk,
                                                         "name": self.agent_name}})
        after = await self.handshake_after()
        if after is not None:
            await self.replay(await self.load_replay(after, None))

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if self.seen_at:
            await events.apublish(await self.presence_gone())

    async def receive_frame(self, kind: str, frame: dict[str, Any]) -> None:
        # Any frame is a heartbeat; writing it a few times per timeout is enough (on the
        # sockets' clock, so tests can move it).
        if self.clock.monotonic() - self.seen_at > conf.get("PRESENCE_TIMEOUT") / 3:
            await self.mark_seen()
        await super().receive_frame(kind, frame)

    async def mark_seen(self) -> None:
        self.seen_at = self.clock.monotonic()
        await events.apublish(await self.presence_seen())

    def rate_key(self) -> tuple[str, Any]:
        return ("agent", self.agent.pk)

    @database_sync_to_async
    def revalidate(self) -> bool:
        """Still this agent's session (not logged out, same password) and still an agent."""
        user, session_hash = socket_site_user(self.scope)
        user = identity.session_user(user, session_hash)
        return bool(user is not None and user.pk == self.agent.pk
                    and get_adapter().is_agent(user))

    # ------------------------------------------------------------ frames

    @property
    def sender_name(self) -> str:
        return self.agent_name

    async def note_send(self, frame: dict[str, Any]) -> None:
        conversation_id = int_field(frame, "conversationId")
        body = chat.validate_body(frame.get("body"))
        client_id = chat.validate_client_id(frame.get("clientId"))
        published, note = await self.post_note(conversation_id, body, client_id)
        await self.send_json({"type": "note.ack", "clientId": client_id or None, "note": note})
        await events.apublish(published)

    async def watch(self, frame: dict[str, Any]) -> None:
        """Show these threads: their typing and read receipts come to this socket too.

        The list updates (``message.created`` with the unread count, conversation and
        unread events) reach every agent socket of the widget without asking.
        """
        wanted = self.conversation_ids(frame.get("conversationIds"))
        if len(await self.known_conversations(wanted)) != len(wanted):
            raise chat.NotFound("No such conversation.", field="conversation")
        groups = {events.thread_group(pk) for pk in wanted}
        for group in self.threads - groups:
            await self.leave(group)
        for group in sorted(groups - self.threads):
            await self.join(group)
        self.threads = groups
        await self.send_json({"type": "watching", "conversationIds": sorted(wanted)})

    def conversation_ids(self, value: Any) -> set[int]:
        problem = FrameError("invalid_field", "conversationIds must be a list of at most "
                             f"{self.watch_limit} conversation ids.", field="conversationIds")
        if not isinstance(value, list) or len(value) > self.watch_limit:
            raise problem
        try:
            return {validation.parse_int(item) for item in value}
        except validation.InvalidInput:
            raise problem from None

    async def resume(self, frame: dict[str, Any]) -> None:
        after = int_field(frame, "after")
        conversation_id = int_field(frame, "conversationId", required=False)
        await self.replay(await self.load_replay(after, conversation_id))

    # ------------------------------------------------------------ database

    @database_sync_to_async
    def load_agent(self, user_id: int) -> Any:
        """A fresh user row (permissions change; scope["user"] is a lazy proxy), or None."""
        user = get_user_model().objects.filter(pk=user_id).first()
        return user if user is not None and get_adapter().is_agent(user) else None

    @database_sync_to_async
    def widget_ids(self) -> list[int]:
        return list(Widget.objects.values_list("pk", flat=True))

    @database_sync_to_async
    def get_conversation(self, conversation_id: int) -> Conversation:
        return chat.get_conversation(conversation_id)

    @database_sync_to_async
    def known_conversations(self, ids: set[int]) -> set[int]:
        """Which of these exist (agents may see every widget's conversations)."""
        return set(Conversation.objects.filter(pk__in=ids).values_list("pk", flat=True))

    @database_sync_to_async
    def post_message(self, conversation_id: int, body: str,
                     client_id: str) -> tuple[list[events.Event], dict[str, Any]]:
        conversation = chat.get_conversation(conversation_id)
        result = chat.post_agent_message(self.agent, conversation, body, client_id=client_id,
                                         sender_name=self.agent_name)
        if not result.created:  # a repeated clientId: the original, and nothing to publish
            return [], events.message_payload(result.message)
        created = next(e for e in result.events if e.type == events.MESSAGE_CREATED)
        return result.events, created.payload["message"]

    @database_sync_to_async
    def post_note(self, conversation_id: int, body: str,
                  client_id: str) -> tuple[list[events.Event], dict[str, Any]]:
        conversation = Conversation.objects.filter(pk=conversation_id).first()
        if conversation is None:
            raise chat.NotFound("No such conversation.", field="conversation")
        result = chat.post_note(self.agent, conversation, body, client_id=client_id,
                                author_name=self.agent_name)
        return result.events, events.note_payload(result.note, author_name=self.agent_name)

    @database_sync_to_async
    def presence_seen(self) -> list[events.Event]:
        return agents.seen(self.agent.pk, self.channel_name, self.widget_list)

    @database_sync_to_async
    def presence_gone(self) -> list[events.Event]:
        return agents.gone(self.agent.pk, self.channel_name, self.widget_list)

    @database_sync_to_async
    def mark_read(self, conversation_id: int, last_read_id: int | None) -> list[events.Event]:
        return chat.mark_read_by_agent(chat.get_conversation(conversation_id), last_read_id)

    @database_sync_to_async
    def load_replay(self, after: int, conversation_id: int | None) -> resume.Replay:
        return resume.for_agents(after, conversation_id=conversation_id)

    @database_sync_to_async
    def last_message_id(self) -> int:
        return resume.last_id_for_agents()
