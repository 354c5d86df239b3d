"""HTTP routes for Sequence's notification policies (the eight operations of 2024-07-30)."""

from __future__ import annotations

import re
from urllib.parse import unquote

from litestar import Response
from litestar.params import Parameter

from patron.server.notifications import service
from patron.server.web import route
from patron.server.web.errors import database_errors
from patron.server.web.route import Http
from patron.wire import notifications as wire
from patron.wire.enums import NotificationType

TAGS = ["Notification Policies"]
_POLICIES = "/notifications/policies"


@route.operation("GET", _POLICIES, "getNotificationsPolicies", "List all notification policies", tags=TAGS)
async def list_policies(
    request: Http,
    notification_type: NotificationType | None = Parameter(
        query="notificationType",
        default=None,
        description="Only the policies matching this type: those listing it and those with no list (every type)",
    ),
    limit: int = Parameter(query="limit", default=20, ge=1, le=100, description="Page size, 1 to 100 (default 20)"),
    after: str | None = Parameter(query="after", default=None, description="Pagination cursor (pagination.after)"),
    before: str | None = Parameter(query="before", default=None, description="Pagination cursor (pagination.before)"),
) -> wire.NotificationPolicies:
    key = route.database(request).key
    return await route.read(
        request, service.list_page, key, notification_type=notification_type, limit=limit, after=after, before=before
    )


@database_errors
@route.operation(
    "POST",
    _POLICIES,
    "postNotificationsPolicies",
    "Create a notification policy",
    tags=TAGS,
    status=201,
    response=wire.NotificationPolicy,
)
async def create_policy(request: Http, data: wire.CreateNotificationPolicyRequest) -> Response[bytes]:
    return await route.write(request, service.create, data)


@route.operation(
    "GET",
    _POLICIES + "/{id:str}",
    "getNotificationsPoliciesById",
    "Get a notification policy",
    tags=TAGS,
    errors=(404,),
)
async def get_policy(request: Http, id: str) -> wire.NotificationPolicy:
    return await route.read(request, service.get, id)


@route.operation(
    "DELETE",
    _POLICIES + "/{id:str}",
    "deleteNotificationsPoliciesById",
    "Delete a notification policy",
    tags=TAGS,
    errors=(404,),
    response=wire.NotificationPolicy,
)
async def delete_policy(request: Http, id: str) -> Response[bytes]:
    return await route.write(request, service.delete, id)


@database_errors
@route.operation(
    "POST",
    _POLICIES + "/{id:str}/recipients",
    "postNotificationsPoliciesByIdRecipients",
    "Add recipients to a notification policy",
    tags=TAGS,
    errors=(404,),
    response=wire.NotificationPolicy,
)
async def add_recipients(request: Http, id: str, data: wire.AddRecipientsToPolicyRequest) -> Response[bytes]:
    return await route.write(request, service.add_recipients, id, data)


@database_errors
@route.operation(
    "DELETE",
    _POLICIES + "/{id:str}/recipients/{recipient:path}",
    "deleteNotificationsPoliciesByIdRecipientsByRecipient",
    "Remove a recipient from a notification policy",
    tags=TAGS,
    errors=(404,),
    response=wire.NotificationPolicy,
)
async def remove_recipient(request: Http, id: str, recipient: str) -> Response[bytes]:
    return await route.write(request, service.remove_recipient, id, _recipient_in(request))


# The recipient is everything after `/recipients/` in the path as the client sent it,
# percent-decoded. Routing sees a decoded path with repeated and trailing slashes collapsed
# (Litestar's `recipient`), which would change a URL such as `https://host//a/`.
_RECIPIENT = re.compile(r"/notifications/policies/[^/]*/recipients/(.*)\Z", re.DOTALL)


def _recipient_in(request: Http) -> str:
    raw: bytes | None = request.scope.get("raw_path")
    if raw is None:  # a server that passes no raw path: the decoded one is all there is
        path, decode = request.scope["path"], False
    else:
        path, decode = raw.partition(b"?")[0].decode("utf-8"), True
    found = _RECIPIENT.search(path)
    assert found is not None, "the route's path ends in /recipients/{recipient}"
    return unquote(found.group(1), errors="strict") if decode else found.group(1)


@database_errors
@route.operation(
    "POST",
    _POLICIES + "/{id:str}/notification-types",
    "postNotificationsPoliciesByIdNotificationTypes",
    "Add notification types to a notification policy",
    tags=TAGS,
    errors=(404,),
    response=wire.NotificationPolicy,
)
async def add_types(request: Http, id: str, data: wire.AddNotificationTypesToPolicyRequest) -> Response[bytes]:
    return await route.write(request, service.add_types, id, data)


@database_errors
@route.operation(
    "DELETE",
    _POLICIES + "/{id:str}/notification-types/{type:str}",
    "deleteNotificationsPoliciesByIdNotificationTypesByType",
    "Remove a notification type from a notification policy",
    tags=TAGS,
    errors=(404,),
    response=wire.NotificationPolicy,
)
async def remove_type(request: Http, id: str, type: NotificationType) -> Response[bytes]:
    return await route.write(request, service.remove_type, id, type)


ROUTES = [
    list_policies,
    create_policy,
    get_policy,
    delete_policy,
    add_recipients,
    remove_recipient,
    add_types,
    remove_type,
]
