"""The REST API, mounted at ``chatwidget/api/`` by ``chatwidget.urls``."""

from django.urls import path

from . import agent, visitor
from .schema import ChatWidgetSchemaView

urlpatterns = [
    path("ping/", visitor.PingView.as_view(), name="ping"),
    path("identify/", visitor.IdentifyView.as_view(), name="identify"),
    path("attributes/", visitor.AttributesView.as_view(), name="attributes"),
    path("logout/", visitor.LogoutView.as_view(), name="logout"),
    path("conversations/", visitor.ConversationsView.as_view(), name="conversations"),
    path("conversations/<int:pk>/", visitor.ConversationView.as_view(), name="conversation"),
    path("conversations/<int:pk>/messages/", visitor.MessagesView.as_view(), name="messages"),
    path("conversations/<int:pk>/describe/", visitor.DescribeView.as_view(), name="describe"),
    path("conversations/<int:pk>/read/", visitor.ReadView.as_view(), name="read"),
    path("agent/", agent.AgentRootView.as_view(), name="agent-root"),
    path("agent/conversations/", agent.AgentConversationsView.as_view(),
         name="agent-conversations"),
    path("agent/conversations/<int:pk>/", agent.AgentConversationView.as_view(),
         name="agent-conversation"),
    path("agent/conversations/<int:pk>/messages/", agent.AgentMessagesView.as_view(),
         name="agent-messages"),
    path("agent/conversations/<int:pk>/assign/", agent.AssignView.as_view(),
         name="agent-assign"),
    path("agent/conversations/<int:pk>/close/", agent.CloseView.as_view(), name="agent-close"),
    path("agent/conversations/<int:pk>/reopen/", agent.ReopenView.as_view(),
         name="agent-reopen"),
    path("agent/conversations/<int:pk>/read/", agent.AgentReadView.as_view(), name="agent-read"),
    path("agent/contacts/<int:pk>/", agent.AgentContactView.as_view(), name="agent-contact"),
    path("agent/conversations/<int:pk>/notes/", agent.NotesView.as_view(), name="agent-notes"),
    path("agent/saved-replies/", agent.SavedRepliesView.as_view(), name="agent-saved-replies"),
    path("agent/agents/", agent.AgentsView.as_view(), name="agent-agents"),
    path("schema/", ChatWidgetSchemaView.as_view(), name="schema"),
]
