"""The REST API, mounted at ``chatwidget/api/`` by ``chatwidget.urls``."""

from django.urls import path, re_path

from ..validation import register_id_converter
from . import agent, datarights, visitor
from .base import not_found
from .schema import ChatWidgetSchemaView

register_id_converter()

urlpatterns = [
    path("ping/", visitor.PingView.as_view(), name="ping"),
    path("identify/", visitor.IdentifyView.as_view(), name="identify"),
    path("attributes/", visitor.AttributesView.as_view(), name="attributes"),
    path("logout/", visitor.LogoutView.as_view(), name="logout"),
    path("conversations/", visitor.ConversationsView.as_view(), name="conversations"),
    path("conversations/<cw_id:pk>/", visitor.ConversationView.as_view(), name="conversation"),
    path("conversations/<cw_id:pk>/messages/", visitor.MessagesView.as_view(), name="messages"),
    path("conversations/<cw_id:pk>/describe/", visitor.DescribeView.as_view(), name="describe"),
    path("conversations/<cw_id:pk>/read/", visitor.ReadView.as_view(), name="read"),
    path("agent/", agent.AgentRootView.as_view(), name="agent-root"),
    path("agent/conversations/", agent.AgentConversationsView.as_view(),
         name="agent-conversations"),
    path("agent/conversations/<cw_id:pk>/", agent.AgentConversationView.as_view(),
         name="agent-conversation"),
    path("agent/conversations/<cw_id:pk>/messages/", agent.AgentMessagesView.as_view(),
         name="agent-messages"),
    path("agent/conversations/<cw_id:pk>/assign/", agent.AssignView.as_view(),
         name="agent-assign"),
    path("agent/conversations/<cw_id:pk>/close/", agent.CloseView.as_view(), name="agent-close"),
    path("agent/conversations/<cw_id:pk>/reopen/", agent.ReopenView.as_view(),
         name="agent-reopen"),
    path("agent/conversations/<cw_id:pk>/read/", agent.AgentReadView.as_view(), name="agent-read"),
    path("agent/contacts/<cw_id:pk>/", agent.AgentContactView.as_view(), name="agent-contact"),
    path("agent/conversations/<cw_id:pk>/notes/", agent.NotesView.as_view(), name="agent-notes"),
    path("agent/saved-replies/", agent.SavedRepliesView.as_view(), name="agent-saved-replies"),
    path("agent/agents/", agent.AgentsView.as_view(), name="agent-agents"),
    path("agent/contacts/<cw_id:pk>/export/", datarights.AgentContactExportView.as_view(),
         name="agent-contact-export"),
    path("agent/contacts/<cw_id:pk>/erase/", datarights.AgentContactEraseView.as_view(),
         name="agent-contact-erase"),
    path("schema/", ChatWidgetSchemaView.as_view(), name="schema"),
    # Last: whatever else is under the API answers in the API's JSON, not the site's HTML.
    re_path(r"", not_found, name="not-found"),
]
