"""What the visitor and agent sockets share: frames in, errors out, limits, group events.

A consumer only translates: it decodes a frame, checks its fields, calls identity.py /
chat.py in a small ``database_sync_to_async`` method, publishes the returned events and
replies. Every refusal is an ``error`` frame with a documented code (docs/protocol.md);
abuse closes the socket. Nothing a client sends can raise out of :meth:`receive`, so a bad
frame never takes the socket (or its neighbours) down.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from enum import IntEnum
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.db import OperationalError

from .. import chat, conf, database, events, layers, ratelimit, validation
from ..clock import clock
from . import rechecks

logger = logging.getLogger("chatwidget.consumers")


class CloseCode(IntEnum):
    """Close codes a client acts on; docs/protocol.md lists what each asks of the client."""

    LOGOUT = 4001  # this browser's identity ended: ping again without a token
    LOGIN = 4002  # this browser switched identity: ping again, reconnect with the new token
    TRY_AGAIN = 1013  # the channel layer or the database is unreachable: reconnect later
    UNAUTHENTICATED = 4401  # no valid token / session: ping again (or log in) first
    FORBIDDEN = 4403  # origin not allowed, or not an agent
    RATE_LIMITED = 4408  # kept flooding after rate_limited errors
    FRAME_TOO_LARGE = 4413  # kept sending oversized frames, or one far over the limit
    NOT_FOUND = 4404  # no socket at this path


class FrameError(Exception):
    """A frame the server refuses; becomes ``{"type": "error", "code", "message", "field"}``."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


# chat.py names fields as the REST API does; frames use the SDK's camelCase.
_FRAME_FIELDS = {"client_id": "clientId", "conversation": "conversationId"}


def int_field(frame: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    value = frame.get(name)
    if value is None and not required:
        return None
    try:  # the REST API's rule: a JSON integer (not a string, not true) below 2^63
        return validation.parse_int(value, field=name)
    except validation.InvalidInput:
        raise FrameError("invalid_field", f"{name} must be a non-negative integer.",
                         field=name) from None


def bool_field(frame: dict[str, Any], name: str, *, default: bool) -> bool:
    value = frame.get(name, default)
    if not isinstance(value, bool):
        raise FrameError("invalid_field", f"{name} must be true or false.", field=name)
    return value


def str_field(frame: dict[str, Any], name: str) -> str:
    value = frame.get(name)
    if not isinstance(value, str):
        raise FrameError("invalid_field", f"{name} must be a string.", field=name)
    return value


def query_params(scope: dict[str, Any]) -> dict[str, str]:
    raw = scope.get("query_string", b"").decode("latin1")
    return {key: values[-1] for key, values in parse_qs(raw).items()}


def frame_size(text: str, limit: int) -> int:
    """UTF-8 size, without encoding frames that cannot be over the limit anyway.

    Frames over it are measured too: "far over" (a close at once) counts bytes, and a
    frame of multi-byte characters can be far over in bytes but not in characters.
    """
    if len(text) * 4 <= limit:
        return len(text)
    return len(text.encode())


def client_gone(error: BaseException) -> bool:
    """The ASGI server refused a send because the client already closed the socket.

    uvicorn raises ``ClientDisconnected`` (an ``OSError``) while the close is in flight and
    a ``RuntimeError`` once it has answered it; daphne drops such sends silently.
    """
    if type(error).__name__ == "ClientDisconnected":
        return True
    return isinstance(error, RuntimeError) and "after sending 'websocket.close'" in str(error)


class ChatWidgetConsumer(AsyncJsonWebsocketConsumer, abc.ABC):
    """Frame decoding, validation errors, rate limits and group-event forwarding."""

    # frame type → handler method name; each subclass lists what it accepts.
    frame_handlers: dict[str, str] = {}
    # Frame types counted against RATE_LIMIT_MESSAGES; all others share a wider budget.
    message_frames = frozenset({"message.send"})
    # Other frames (typing, read, resume, ping…) may come this many times more often.
    other_frames_factor = 4
    # rate_limited refusals per window before the socket is closed with 4408.
    abuse_strikes = 10
    # Oversized frames tolerated per socket; one over limit * this factor closes at once.
    oversized_strikes = 2
    oversized_close_factor = 4
    # Channels fixes scope["user"] at connect, and no signal announces a session that
    # expires: every socket re-checks its credential each REVALIDATE_INTERVAL seconds (a
    # timer shared by all sockets, so passive ones too: rechecks.py), before a frame once
    # that long has passed, and at once when told to (events.recheck_users). Tests replace
    # the clock.
    clock = clock
    # Which side a typing indicator comes from.
    typing_as_agent = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.closing = False
        self.accepted = False
        self.authenticated = False  # past the handshake and the auth frame: re-checked
        self.oversized = 0
        self.validated_at = self.clock.monotonic()
        # The newest message id this socket has delivered, live or replayed: what a
        # ``resync`` asks the client to resume after (None: the client's own last id).
        self.delivered_id: int | None = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' own dispatch first closes stale database connections, through its one
        # database thread, before every handler: a thread hop for every event of every
        # socket (a visitor message to 20 agents cost 20 hops queued behind the writes).
        # Every database call of these consumers runs in dbthreads.database_sync_to_async,
        # which closes them around the call in that very thread, so the hop buys nothing.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # ------------------------------------------------------------ lifecycle helpers

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        try:
            await super().websocket_connect(message)
        except OperationalError as error:
            if not database.unavailable(error):
                raise
            # The handshake did not finish (no ready, or no replay): reconnect and resume.
            await self.database_unavailable(error, connecting=True)

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        await super().accept(subprotocol, headers)
        self.accepted = True

    async def database_unavailable(self, error: OperationalError,
                                   frame: dict[str, Any] | None = None, *,
                                   connecting: bool = False) -> None:
        """No database connection in time: a ready socket refuses the frame (retryable), one
        still connecting or authenticating closes with 1013 and the client reconnects."""
        database.report(error)
        if self.closing:
            return
        if not connecting and self.authenticated:
            await self.send_error("unavailable", database.MESSAGE, frame=frame,
                                  retryAfter=database.RETRY_AFTER)
            return
        if not self.accepted:
            # Accepted first, so the browser sees the close code, not a failed handshake.
            await self.accept()
        await self.close_with(CloseCode.TRY_AGAIN)

    async def join(self, group: str) -> None:
        """Join a group and remember it, so disconnect leaves it (Channels' own ``groups``)."""
        if group in self.groups:
            return
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups.append(group)

    async def leave(self, group: str) -> None:
        if group in self.groups:
            self.groups.remove(group)
            await self.channel_layer.group_discard(group, self.channel_name)

    async def join_all(self, groups: list[str]) -> bool:
        """Join the groups, or close with 1013 when the channel layer is unreachable.

        A socket without its groups would look connected yet hear nothing; closing makes
        the client retry with backoff, and resume covers the gap.
        """
        # chatwidget's layers then tell this socket when it may have lost an event.
        watch = getattr(self.channel_layer, "watch_for_loss", None)
        if watch is not None:
            watch(self.channel_name)
        try:
            for group in groups:
                await self.join(group)
        except Exception:
            logger.warning("chatwidget: channel layer unavailable, closing socket",
                           exc_info=True)
            await self.close_with(CloseCode.TRY_AGAIN)
            return False
        return True

    def start_rechecks(self) -> None:
        """Once authenticated: re-check the credential every period until the socket ends."""
        self.authenticated = True
        self.validated_at = self.clock.monotonic()
        rechecks.start(self)

    async def recheck(self) -> bool:
        """Close with 4401 unless the credential still holds; True if the socket stays."""
        if self.closing:
            return False
        try:
            valid = await self.revalidate()
        except Exception:  # a database hiccup must not end a good socket: try next period
            logger.warning("chatwidget: socket re-check failed", exc_info=True)
            return True
        if not valid:
            await self.close_with(CloseCode.UNAUTHENTICATED)
            return False
        self.validated_at = self.clock.monotonic()
        return True

    async def chatwidget_recheck(self, message: dict[str, Any]) -> None:
        """``events.RECHECK_LAYER_TYPE``: the user's login, password or rights changed."""
        await self.recheck()

    async def disconnect(self, code: int) -> None:
        rechecks.stop(self)

    async def close_with(self, code: int) -> None:
        if not self.closing:
            self.closing = True
            await self.close(code=int(code))

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None,
                   close: bool | int = False) -> None:
        try:
            await super().send(text_data, bytes_data, close)
        except (OSError, RuntimeError) as error:
            if not client_gone(error):
                raise
            # The client left while this frame was on its way (its disconnect is queued
            # behind this event): nothing is lost, it resumes from its last id on return.
            self.closing = True

    async def send_event(self, kind: str, payload: dict[str, Any]) -> None:
        """An event this socket sends itself (a replay, a resync), framed as published ones."""
        await self.send(text_data=events.encode_frame(kind, payload))

    async def send_error(self, code: str, message: str, *, field: str | None = None,
                         frame: dict[str, Any] | None = None, **extra: Any) -> None:
        error: dict[str, Any] = {"type": events.ERROR, "code": code, "message": message}
        if field:
            error["field"] = field
        # Lets the client settle the promise of the send that failed.
        client_id = frame.get("clientId") if frame else None
        if isinstance(client_id, str) and not validation.text_problem(client_id):
            error["clientId"] = client_id
        error.update(extra)
        await self.send_json(error)

    async def handshake_after(self) -> int | None:
        """The handshake's ``?after=`` resume point; a malformed one is an error frame."""
        value = query_params(self.scope).get("after")
        if not value:
            return None
        try:
            return validation.parse_int(value, field="after", text=True)
        except validation.InvalidInput as error:
            await self.send_error("invalid_field", error.message, field="after")
            return None

    def delivered(self, message_id: int) -> None:
        self.delivered_id = max(self.delivered_id or 0, message_id)

    async def replay(self, replay: Any) -> None:
        """Send a :class:`chatwidget.resume.Replay`, then ``resume.done``."""
        for payload in replay.payloads:
            await self.send_event(events.MESSAGE_CREATED, payload)
        self.delivered(replay.last_id)
        await self.send_json({"type": "resume.done", "lastId": replay.last_id,
                              "more": replay.more})

    # ------------------------------------------------------------ frames in

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None,
                      **kwargs: Any) -> None:
        if self.closing:
            return
        try:
            await self.receive_text(text_data, bytes_data)
        except Exception:
            # A bug must cost one frame, not the socket: log it and tell the client.
            logger.exception("chatwidget: error handling a socket frame")
            if not self.closing:
                await self.send_error("server_error", "The server could not handle this frame.")

    async def receive_text(self, text_data: str | None, bytes_data: bytes | None) -> None:
        if text_data is None:
            await self.send_error("binary_not_supported", "Frames must be JSON text.")
            return
        limit = conf.get("MAX_FRAME_SIZE")
        size = frame_size(text_data, limit)
        if size > limit:
            self.oversized += 1
            far_over = size > limit * self.oversized_close_factor
            if far_over or self.oversized > self.oversized_strikes:
                await self.close_with(CloseCode.FRAME_TOO_LARGE)
            else:
                await self.send_error("frame_too_large",
                                      f"Frames are limited to {limit} bytes.", limit=limit)
            return
        try:
            frame = validation.parse_json(text_data)
        except ValueError:
            await self.send_error("invalid_json", "The frame is not valid JSON.")
            return
        if not isinstance(frame, dict):
            await self.send_error("invalid_json", "A frame must be a JSON object.")
            return
        try:
            validation.check_json(frame)
        except validation.InvalidInput as error:
            await self.send_error("invalid_field", error.message, field=error.field,
                                  frame=frame)
            return
        kind = frame.get("type")
        if not isinstance(kind, str):
            await self.send_error("invalid_field", "type must be a string.", field="type")
            return
        try:
            await self.receive_frame(kind, frame)
        except OperationalError as error:
            if not database.unavailable(error):
                raise
            await self.database_unavailable(error, frame)

    async def receive_frame(self, kind: str, frame: dict[str, Any]) -> None:
        handler = self.frame_handlers.get(kind)
        if handler is None:
            await self.send_error("unknown_type", f"Unknown frame type {kind[:50]!r}.",
                              field="type")
            return
        # Covers a recheck push lost with the layer, between two timer ticks.
        if self.clock.monotonic() - self.validated_at >= conf.get("REVALIDATE_INTERVAL"):
            if not await self.recheck():
                return
        if not await self.within_rate(kind, frame):
            return
        try:
            await getattr(self, handler)(frame)
        except FrameError as error:
            await self.send_error(error.code, error.message, field=error.field, frame=frame)
        except validation.InvalidInput as error:
            # not_found, client_id_conflict...; a plain invalid value names its field.
            code = "invalid_field" if error.type == "invalid" else error.type
            field = _FRAME_FIELDS.get(error.field or "", error.field)
            await self.send_error(code, error.message, field=field, frame=frame)

    async def within_rate(self, kind: str, frame: dict[str, Any]) -> bool:
        limit, window = conf.get("RATE_LIMIT_MESSAGES"), conf.get("RATE_LIMIT_WINDOW")
        key = self.rate_key()
        if kind in self.message_frames:
            # One budget with the REST API's message throttle, in the shared cache.
            retry = await ratelimit.ahit(ratelimit.message_key(key), limit, window)
        else:
            retry = ratelimit.frames.hit((key, "frames"), limit * self.other_frames_factor,
                                         window)
        if retry is None:
            return True
        if ratelimit.frames.hit(("strikes", self.channel_name), self.abuse_strikes,
                                window) is not None:
            await self.close_with(CloseCode.RATE_LIMITED)
            return False
        await self.send_error("rate_limited", "Too many frames; slow down.", frame=frame,
                              retryAfter=round(retry, 3))
        return False

    # ------------------------------------------------------------ frames both sides send

    async def message_send(self, frame: dict[str, Any]) -> None:
        conversation_id = int_field(frame, "conversationId")
        body = chat.validate_body(frame.get("body"))
        client_id = chat.validate_client_id(frame.get("clientId"))
        published, ack = await self.post_message(conversation_id, body, client_id)
        await self.send_json({"type": "message.ack", "clientId": client_id or None,
                              "message": ack})
        await events.apublish(published)

    async def typing(self, frame: dict[str, Any]) -> None:
        conversation_id = int_field(frame, "conversationId")
        typing = bool_field(frame, "typing", default=True)
        conversation = await self.get_conversation(conversation_id)
        await events.apublish(chat.typing_event(
            conversation, by_agent=self.typing_as_agent, name=self.sender_name, typing=typing
        ))

    async def read(self, frame: dict[str, Any]) -> None:
        conversation_id = int_field(frame, "conversationId")
        last_read_id = int_field(frame, "lastReadId", required=False)
        await events.apublish(await self.mark_read(conversation_id, last_read_id))

    # ------------------------------------------------------------ group events out

    async def chatwidget_event(self, message: dict[str, Any]) -> None:
        """``events.LAYER_TYPE``: forward a catalogue event to the socket as-is."""
        if not self.closing:
            await self.forward(message)
            message_id = layers.message_id(message)
            if message_id is not None:
                self.delivered(message_id)

    async def forward(self, message: dict[str, Any]) -> None:
        """Send a layer event's frame text, encoded once by its publisher."""
        await self.send(text_data=events.frame_text(message))

    async def chatwidget_resync(self, message: dict[str, Any]) -> None:
        """``layers.RESYNC_TYPE``: the layer may have dropped events meant for this socket.

        Everything forwarded so far came before the loss, so the client resumes after
        :attr:`delivered_id` and de-duplicates what it already holds; below that when the
        layer knows it lost an older message (``lostFrom``).
        """
        if self.closing or not self.groups:
            return
        after = self.delivered_id
        lost_from = message.get("lostFrom")
        if isinstance(lost_from, int) and (after is None or lost_from <= after):
            after = lost_from - 1
        await self.send_event(events.RESYNC, {"after": after})

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        stop = getattr(self.channel_layer, "stop_watching", None)
        if stop is not None:
            stop(self.channel_name)
        # Channels' own ends, like its dispatch (above), with a trip to its database thread
        # to close stale connections, for every socket that closes: a network blip closing
        # thousands at once queued thousands of trips ahead of the next message's write.
        for group in self.groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.disconnect(message["code"])
        raise StopConsumer()

    # ------------------------------------------------------------ per-socket policy

    @abc.abstractmethod
    def rate_key(self) -> tuple[str, Any]:
        """Whose budget a frame spends: the contact (all its tabs) or the agent."""

    async def revalidate(self) -> bool:
        """Is the socket's credential still good? (A few queries, once a period.)"""
        return True

    async def ping(self, frame: dict[str, Any]) -> None:
        # lastId lets a client notice live events it never got (pub/sub delivers at most
        # once; a Redis restart drops what was in flight) and resume without reconnecting.
        await self.send_json({"type": "pong", "lastId": await self.last_message_id()})

    @abc.abstractmethod
    async def last_message_id(self) -> int:
        """The newest message id this socket should have seen (for ``pong``)."""

    # Each side supplies its own database access for the shared frames above.
    @abc.abstractmethod
    async def post_message(self, conversation_id: int, body: str,
                           client_id: str) -> tuple[list[events.Event], dict[str, Any]]:
        """Persist a message; return the events to publish and the ack payload."""

    @abc.abstractmethod
    async def get_conversation(self, conversation_id: int) -> Any:
        """A conversation this socket may act on, or ``chat.NotFound``."""

    @abc.abstractmethod
    async def mark_read(self, conversation_id: int,
                        last_read_id: int | None) -> list[events.Event]:
        """Move this side's read pointer."""


class UnknownPath(AsyncWebsocketConsumer):
    """A socket path no route names: refused at the handshake, not a router exception."""

    async def connect(self) -> None:
        await self.close(code=int(CloseCode.NOT_FOUND))


def cancel(task: asyncio.Task[Any] | None) -> None:
    if task is not None and not task.done():
        task.cancel()
