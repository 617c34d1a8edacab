"""The visitor socket, ``ws/chatwidget/``: one browser tab of one contact.

Authenticated by the widget cookie, or, for cross-origin embeds, by a bearer token sent as
the first frame (never in the URL: URLs end up in access logs). The socket hears its
contact's events (all tabs, all devices) and its token's (this browser: login/logout).
"""

from __future__ import annotations

import asyncio
from typing import Any

from .. import chat, datarights, events, identity, resume
from ..dbthreads import database_sync_to_async
from ..models import Conversation, Widget, WidgetToken
from ..security import embed_origin_allowed, header, is_site_origin
from ..session import cookie_name, socket_site_user
from .base import ChatWidgetConsumer, CloseCode, cancel, int_field, query_params
from .batching import Batched

# Conversations a socket has already proven it owns (typing and read need the row).
_CONVERSATION_CACHE_SIZE = 32


class VisitorConsumer(ChatWidgetConsumer):
    frame_handlers = {
        "auth": "auth_again",
        "resume": "resume",
        "message.send": "message_send",
        "typing": "typing",
        "read": "read",
        "ping": "ping",
    }
    # A bearer socket that has not sent its token by then is closed (4401).
    auth_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every attribute a socket will have, set here at once: set later, in connect, they
        # overflowed the class's shared attribute layout and each socket got a full dict of
        # its own (832 bytes more; thousands of sockets at a time).
        # The token's id only: a socket keeps what it uses.
        self.token_id: int | None = None
        self.contact = None
        self.auth_task: asyncio.Task[None] | None = None
        self.conversations: dict[int, Conversation] = {}
        self.app_id: str | None = None
        self.origin: str | None = None
        self.cross_origin: bool | None = None
        self.widget: Widget | None = None

    async def connect(self) -> None:
        params = query_params(self.scope)
        self.app_id = params.get("app_id") or None
        self.origin = header(self.scope, b"origin")
        self.cross_origin = self.scope.get("chatwidget_cross_origin")
        if self.cross_origin is None:  # unmarked: same-site, or mounted without the validator
            self.cross_origin = not is_site_origin(self.origin)
        # The widget this socket speaks for, when the page named one (app_id) or embeds
        # one cross-origin (then the default widget unless app_id says otherwise). A
        # cross-origin one is checked before the handshake is answered; a same-site page's
        # comes with its token (authenticate).
        if self.cross_origin:
            self.widget = await self.get_embed_widget()
            if self.widget is None or not embed_origin_allowed(self.widget, self.origin):
                # Refused at the handshake: browsers learn nothing, not even a close code.
                await self.close(code=int(CloseCode.FORBIDDEN))
                return
            await self.accept()
            self.wait_for_auth()
            return
        # Same-site: the HttpOnly cookie. Cross-origin pages never get this far with it.
        raw = self.scope.get("cookies", {}).get(cookie_name(self.app_id))
        await self.accept()
        if raw is None:
            self.wait_for_auth()
            return
        await self.authenticate(raw)

    async def disconnect(self, code: int) -> None:
        cancel(self.auth_task)
        await super().disconnect(code)

    # ------------------------------------------------------------ authentication

    def wait_for_auth(self) -> None:
        self.auth_task = asyncio.ensure_future(self.expire_auth())

    async def expire_auth(self) -> None:
        await asyncio.sleep(self.auth_timeout)
        if self.token_id is None:
            await self.close_with(CloseCode.UNAUTHENTICATED)

    async def authenticate(self, raw: str) -> None:
        token = await self.resolve(raw)
        if self.closing:  # the auth deadline passed while the token was looked up
            return
        if token is not None and self.app_id is not None and self.widget is None:
            # The page named its widget: nearly always the token's own, loaded with it, so
            # a reconnecting page costs no second trip to the database.
            self.widget = (identity.token_widget(token, self.app_id)
                           or await self.get_embed_widget())
        if token is None or not self.may_use(token):
            await self.close_with(CloseCode.UNAUTHENTICATED)
            return
        cancel(self.auth_task)
        self.token_id, self.contact = token.pk, token.contact
        groups = [events.contact_group(self.contact.pk), events.token_group(token.pk)]
        if self.contact.user_id is not None:
            groups.append(events.user_group(self.contact.user_id))
        if not await self.join_all(groups):
            return
        self.start_rechecks()
        await self.send_json({"type": "ready", "contactId": self.contact.pk})
        after = await self.handshake_after()
        if after is not None:
            # Sockets opening together ask in one trip (a reconnect storm after a deploy).
            await self.replay(await _handshake_replays.get((self.contact.pk, after)))

    def may_use(self, token: WidgetToken) -> bool:
        if self.app_id is not None and self.widget is None:  # an unknown app_id
            return False
        decision = identity.decide(token, self.scope.get("user"), self.widget,
                                   identity.Transport.SOCKET)
        return decision.action is identity.Action.KEEP

    async def receive_frame(self, kind: str, frame: dict[str, Any]) -> None:
        if self.token_id is None:
            token = frame.get("token") if kind == "auth" else None
            if not isinstance(token, str):
                await self.close_with(CloseCode.UNAUTHENTICATED)
                return
            await self.authenticate(token)
            return
        await super().receive_frame(kind, frame)

    async def auth_again(self, frame: dict[str, Any]) -> None:
        await self.send_error("unknown_type", "auth is only valid as a socket's first frame.",
                              field="type")

    def rate_key(self) -> tuple[str, Any]:
        return ("contact", self.contact.pk)

    @database_sync_to_async
    def revalidate(self) -> bool:
        """The token still active and still this browser's, as the session stands now."""
        token = WidgetToken.objects.select_related("contact").filter(pk=self.token_id).first()
        if token is None:
            return False
        user, session_hash = socket_site_user(self.scope)
        decision = identity.decide(token, user, self.widget, identity.Transport.SOCKET,
                                   session_hash=session_hash)
        return decision.action is identity.Action.KEEP

    # ------------------------------------------------------------ group events

    async def chatwidget_event(self, message: dict[str, Any]) -> None:
        if self.closing:
            return
        kind = message["event"]
        if kind == events.LOGOUT:
            await self.forward(message)
            await self.close_with(CloseCode.LOGOUT)
        elif kind == events.LOGIN:
            # Only this browser's switch (its token was rotated) concerns this tab; another
            # device logging in to the same contact leaves this one as it is.
            if not await self.token_active():
                await self.forward(message)
                await self.close_with(CloseCode.LOGIN)
        else:
            await super().chatwidget_event(message)

    # ------------------------------------------------------------ frames

    @property
    def sender_name(self) -> str:
        return self.contact.display_name

    async def resume(self, frame: dict[str, Any]) -> None:
        await self.replay(await self.load_replay(int_field(frame, "after")))

    # ------------------------------------------------------------ database

    @database_sync_to_async
    def get_embed_widget(self) -> Any:
        try:
            return identity.get_widget(self.app_id)
        except Exception:  # unknown app_id (DoesNotExist) or a malformed one
            return None

    async def resolve(self, raw: str) -> WidgetToken | None:
        return await _handshake_tokens.get(raw)

    @database_sync_to_async
    def token_active(self) -> bool:
        return WidgetToken.objects.filter(datarights.live_tokens(), pk=self.token_id).exists()

    @database_sync_to_async
    def post_message(self, conversation_id: int, body: str,
                     client_id: str) -> tuple[list[events.Event], dict[str, Any]]:
        """The message path: only chat.post_contact_message's two queries."""
        result = chat.post_contact_message(self.contact, conversation_id, body,
                                           client_id=client_id)
        if not result.created:  # a repeated clientId: the original, and nothing to publish
            return [], events.message_payload(result.message)
        created = next(e for e in result.events if e.type == events.MESSAGE_CREATED)
        return result.events, created.payload["message"]

    @database_sync_to_async
    def get_conversation(self, conversation_id: int) -> Conversation:
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            conversation = chat.get_conversation(conversation_id, contact=self.contact)
            if len(self.conversations) >= _CONVERSATION_CACHE_SIZE:
                self.conversations.clear()
            self.conversations[conversation_id] = conversation
        return conversation

    @database_sync_to_async
    def mark_read(self, conversation_id: int, last_read_id: int | None) -> list[events.Event]:
        conversation = chat.get_conversation(conversation_id, contact=self.contact)
        return chat.mark_read_by_contact(self.contact, conversation, last_read_id)

    @database_sync_to_async
    def load_replay(self, after: int) -> resume.Replay:
        return resume.for_contact(self.contact, after)

    @database_sync_to_async
    def last_message_id(self) -> int:
        return resume.last_id_for_contact(self.contact)


def _resolve_for_sockets(raws: list[str]) -> dict[str, WidgetToken]:
    tokens = identity.resolve_tokens(raws)
    identity.touch_all([token.contact for token in tokens.values()])
    widgets: dict[int, Widget] = {}
    for token in tokens.values():
        contact = token.contact
        # One widget instance for the burst's sockets, not one each (they only read it).
        contact.widget = widgets.setdefault(contact.widget_id, contact.widget)
    return tokens


# Sockets opening together (a deploy, a network blip: every visitor reconnects) resolve
# their tokens in one query instead of queueing one each on the database thread.
_handshake_tokens = Batched(_resolve_for_sockets)
_handshake_replays = Batched(resume.for_contacts)
