"""What the API accepts: one serializer per request body or query string.

Message bodies and client ids are checked by ``chat.validate_body`` and
``chat.validate_client_id``, the same functions the sockets call, so both transports refuse
exactly the same input. Response shapes are built by ``events`` (see ``responses.py``).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from .. import chat, validation
from .fields import AttributesField, StrictCharField, StrictIntegerField

MAX_PAGE = 200
# ASCII digits only: ``\d`` would also match Arabic-Indic digits.
ASSIGNEE = r"^(me|none|[1-9][0-9]{0,18})$"
USER_HASH = r"^[0-9a-fA-F]+$"


class StrictEmailField(StrictCharField, serializers.EmailField):
    pass


class StrictRegexField(StrictCharField, serializers.RegexField):
    pass


def chat_checked(check: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a ``chat`` validator inside ``Serializer.validate``, keeping its field name."""
    try:
        return check(*args, **kwargs)
    except validation.InvalidInput as exc:
        raise serializers.ValidationError({exc.field or "non_field_errors": [exc.message]}) from exc


def merged_attributes(field: str, value: dict[str, Any], existing: dict[str, Any]) -> None:
    """The attribute limits hold for the merged result, not only for one request."""
    try:
        chat.validate_attributes(value, existing=existing)
    except validation.InvalidInput as exc:
        raise serializers.ValidationError({field: [exc.message]}) from exc


# ---------------------------------------------------------------- visitor


class PingSerializer(serializers.Serializer):
    app_id = StrictCharField(required=False, allow_blank=True, max_length=64,
                             help_text="The widget; the default one when omitted.")
    transport = serializers.ChoiceField(
        choices=["cookie", "bearer"], required=False,
        help_text="`bearer` on a cross-origin embed's first ping (no cookie): the token is "
                  "then returned in the body, to be sent as `Authorization: Bearer`.",
    )
    # Not length-checked: a long URL must not stop the widget loading; stored cut to fit.
    page_url = StrictCharField(required=False, allow_blank=True, trim_whitespace=False,
                               help_text="The page the widget is on, shown to agents.")
    page_title = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)


class IdentifySerializer(serializers.Serializer):
    external_id = StrictCharField(max_length=255)
    user_hash = StrictRegexField(
        USER_HASH, required=False, allow_blank=True, max_length=128,
        error_messages={"invalid": "Must be the hexadecimal HMAC-SHA256 digest."},
        help_text="hex(HMAC-SHA256(widget identity secret, external_id)), computed by the "
                  "site's server.",
    )
    attributes = AttributesField(required=False)
    email = StrictEmailField(required=False, allow_blank=True, max_length=254)
    name = StrictCharField(required=False, allow_blank=True, max_length=200)


class AttributesSerializer(serializers.Serializer):
    attributes = AttributesField()
    email = StrictEmailField(required=False, allow_blank=True, max_length=254)
    name = StrictCharField(required=False, allow_blank=True, max_length=200)


class ConversationCreateSerializer(serializers.Serializer):
    body = StrictCharField(required=False, allow_null=True, trim_whitespace=False,
                           help_text="A first message (not blank); none is posted when "
                                     "omitted or null.")
    client_id = StrictCharField(required=False, allow_null=True, allow_blank=True,
                                max_length=64, help_text="Makes the first message idempotent.")
    custom_attributes = AttributesField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("body") is not None:
            attrs["body"] = chat_checked(chat.validate_body, attrs["body"])
        attrs["client_id"] = chat_checked(chat.validate_client_id, attrs.get("client_id"))
        return attrs


class MessageCreateSerializer(serializers.Serializer):
    body = StrictCharField(required=False, allow_blank=True, trim_whitespace=False,
                           help_text="May be empty only when files are attached.")
    client_id = StrictCharField(
        required=False, allow_null=True, allow_blank=True, max_length=64,
        help_text="Client-generated id: sending the same message again returns the "
                  "original; reusing it for another message is a 409.",
    )
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), required=False,
        help_text="multipart/form-data only; repeat the field for several files.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        files = attrs.get("files") or []
        attrs["files"] = files
        attrs["body"] = chat_checked(chat.validate_body, attrs.get("body", ""),
                                     allow_empty=bool(files))
        attrs["client_id"] = chat_checked(chat.validate_client_id, attrs.get("client_id"))
        return attrs


class MessageTextSerializer(serializers.Serializer):
    """The JSON form of a message, for the schema (validation: ``MessageCreateSerializer``)."""

    body = StrictCharField(trim_whitespace=False, help_text="Not blank.")
    client_id = StrictCharField(
        required=False, allow_null=True, allow_blank=True, max_length=64,
        help_text="Client-generated id: sending the same message again returns the "
                  "original; reusing it for another message is a 409.",
    )


class MessageFilesSerializer(serializers.Serializer):
    """The multipart form, for the schema: files, and optionally a caption."""

    body = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)
    client_id = StrictCharField(required=False, allow_blank=True, max_length=64)
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), min_length=1,
        help_text="Repeat the field for several files. Types are sniffed from the bytes.",
    )


class DescribeSerializer(serializers.Serializer):
    custom_attributes = AttributesField()


class ReadSerializer(serializers.Serializer):
    last_read_id = StrictIntegerField(
        required=False, allow_null=True, min_value=0,
        help_text="The newest message id seen; everything when omitted.",
    )


class MessagesQuerySerializer(serializers.Serializer):
    after = StrictIntegerField(required=False, default=0, min_value=0,
                               help_text="Only messages with a larger id.")
    before = StrictIntegerField(
        required=False, min_value=1,
        help_text="Only messages with a smaller id: the newest `limit` of them (older history).",
    )
    limit = StrictIntegerField(required=False, min_value=1, max_value=MAX_PAGE)


# ---------------------------------------------------------------- agent


class AssignSerializer(serializers.Serializer):
    assignee_id = StrictIntegerField(allow_null=True,
                                     help_text="An agent's user id, or null to unassign.")


class AgentConversationsQuerySerializer(serializers.Serializer):
    filter = serializers.ChoiceField(
        choices=["open", "mine", "unassigned", "closed", "all"], required=False, default="all",
        help_text="`mine` and `unassigned` are open conversations assigned to me / nobody.",
    )
    status = serializers.ChoiceField(choices=["open", "closed"], required=False)
    assignee = StrictRegexField(ASSIGNEE, required=False,
                                      help_text="`me`, `none`, or an agent's user id.")
    contact = StrictIntegerField(required=False, min_value=1)
    q = serializers.CharField(required=False, max_length=200,
                              help_text="Text in the contact's name, email or external id, "
                                        "or in a message.")
    cursor = serializers.CharField(required=False, max_length=200,
                                   help_text="The previous page's `next_cursor`.")
    limit = StrictIntegerField(required=False, min_value=1, max_value=MAX_PAGE)

    def validate_assignee(self, value: str) -> str:
        if value not in ("me", "none"):
            try:
                validation.parse_int(value, minimum=1, text=True)
            except validation.InvalidInput:
                raise serializers.ValidationError("Use me, none, or a user id.") from None
        return value


class NoteCreateSerializer(serializers.Serializer):
    body = StrictCharField(trim_whitespace=False)
    client_id = StrictCharField(
        required=False, allow_null=True, allow_blank=True,
        help_text="Client-generated id: sending it again returns the original note.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["body"] = chat_checked(chat.validate_body, attrs.get("body"))
        attrs["client_id"] = chat_checked(chat.validate_client_id, attrs.get("client_id"))
        return attrs


class NotesQuerySerializer(serializers.Serializer):
    after = StrictIntegerField(required=False, default=0, min_value=0,
                               help_text="Only notes with a larger id.")
    limit = StrictIntegerField(required=False, min_value=1, max_value=MAX_PAGE)


class SavedRepliesQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100,
                              help_text="A shortcut prefix or text to find (what follows `/`).")
