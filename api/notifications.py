"""The caller's notifications (the in-app inbox) and channels; admins manage the channels of users in their unit.

Every notification lands in its recipient's inbox, whatever their channels; a channel (e-mail, a WeCom, DingTalk
or Feishu group bot, a signed webhook) is where it is also sent (engine/channels.py, engine/delivery.py).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields, validate

from api.accounts import _user_in
from api.auth import casework, current_user, require
from api.fields import Strict, Text
from api.parsing import Blueprint
from engine.channels import KINDS, ChannelNotFound, add_channel, list_channels, remove_channel
from engine.notifications import KINDS as NOTIFICATION_KINDS
from engine.notifications import NotificationNotFound, list_inbox, read_notification

blp = Blueprint("notifications", __name__, description="The caller's inbox and notification channels.")

LARGEST_ID = 2**31 - 1
"""Ids are 32-bit in the database: a larger one names nothing (and must not reach PostgreSQL as an overflow)."""


class InboxQuerySchema(Strict):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    order = fields.String(
        load_default="unread",
        validate=validate.OneOf(["unread", "time"]),
        metadata={"description": "`unread`: unread first, then newest; `time`: newest first"},
    )


class NotificationSchema(ma.Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": list(NOTIFICATION_KINDS)})
    case_number = fields.String(allow_none=True, required=True)
    subject = fields.String(required=True)
    body = fields.String(required=True)
    link = fields.String(
        required=True, metadata={"description": "the path in the workspace, e.g. /case/LD-2026-000001"}
    )
    created_at = fields.AwareDateTime(required=True)
    read_at = fields.AwareDateTime(allow_none=True, required=True)


class InboxPageSchema(ma.Schema):
    items = fields.List(fields.Nested(NotificationSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    unread = fields.Integer(required=True)


class ReadSchema(ma.Schema):
    id = fields.Integer(required=True)
    read_at = fields.AwareDateTime(required=True)


class ChannelSchema(ma.Schema):
    id = fields.Integer(required=True)
    user_id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": list(KINDS)})
    target = fields.String(required=True, metadata={"description": "the address; a bot's token is shown cut short"})
    digest_muted = fields.Boolean(required=True)
    active = fields.Boolean(required=True)
    created_at = fields.AwareDateTime(required=True)


class NewChannelSchema(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    target = Text(
        required=True,
        min_length=1,
        max_length=1000,
        metadata={
            "description": "email: an address; wecom, dingtalk, feishu: the group bot's token (or its apprise URL); "
            "webhook: an http(s) URL the notification is POSTed to as JSON, signed in X-Casework-Signature"
        },
    )
    digest_muted = fields.Boolean(load_default=False, metadata={"description": "leave the daily digest out"})


def _channel_id(channel_id: int) -> int:
    if channel_id > LARGEST_ID:
        raise ChannelNotFound(channel_id)
    return channel_id


def _channels(user_id: str) -> list[dict[str, Any]]:
    return [c.to_dict() for c in list_channels(casework(), user_id)]


@blp.route("/me/notifications")
class Inbox(MethodView):
    @blp.arguments(InboxQuerySchema, location="query")
    @blp.response(200, InboxPageSchema)
    @blp.doc(summary="Your notifications, by pages: unread first (or newest first with order=time)")
    def get(self, args: dict[str, Any]) -> Any:
        user = current_user()
        entries, total, unread = list_inbox(
            casework(), user.user_id, page=args["page"], per_page=args["per_page"], order=args["order"]
        )
        return {
            "items": [e.to_dict() for e in entries],
            "page": args["page"],
            "per_page": args["per_page"],
            "total": total,
            "unread": unread,
        }


@blp.route("/me/notifications/<int:notification_id>/read")
class ReadNotification(MethodView):
    @blp.response(200, ReadSchema)
    @blp.doc(summary="Mark one of your notifications read (a second time keeps the first time)")
    def post(self, notification_id: int) -> Any:
        user = current_user()
        if notification_id > LARGEST_ID:
            raise NotificationNotFound(notification_id)
        read_at = read_notification(casework(), user.user_id, notification_id)
        return {"id": notification_id, "read_at": read_at}


@blp.route("/me/channels")
class MyChannels(MethodView):
    @blp.response(200, ChannelSchema(many=True))
    @blp.doc(summary="Your notification channels")
    def get(self) -> Any:
        return _channels(current_user().user_id)

    @blp.arguments(NewChannelSchema)
    @blp.response(201, ChannelSchema)
    @blp.doc(summary="Add a channel you are told through besides the inbox")
    def post(self, data: dict[str, Any]) -> Any:
        user = current_user()
        return add_channel(
            casework(), user.user_id, data["kind"], data["target"], digest_muted=data["digest_muted"]
        ).to_dict()


@blp.route("/me/channels/<int:channel_id>")
class MyChannel(MethodView):
    @blp.response(204)
    @blp.doc(summary="Remove one of your channels; what it has not yet sent is not sent")
    def delete(self, channel_id: int) -> None:
        remove_channel(casework(), _channel_id(channel_id), user_id=current_user().user_id)


@blp.route("/users/<user_id>/channels")
class UserChannels(MethodView):
    @blp.response(200, ChannelSchema(many=True))
    @blp.doc(summary="A user's notification channels (admin, users of your unit and below)")
    def get(self, user_id: str) -> Any:
        return _channels(_user_in(require("manage_accounts"), user_id).user_id)

    @blp.arguments(NewChannelSchema)
    @blp.response(201, ChannelSchema)
    @blp.doc(summary="Give a user a channel (admin)")
    def post(self, data: dict[str, Any], user_id: str) -> Any:
        found = _user_in(require("manage_accounts"), user_id)
        return add_channel(
            casework(), found.user_id, data["kind"], data["target"], digest_muted=data["digest_muted"]
        ).to_dict()


@blp.route("/users/<user_id>/channels/<int:channel_id>")
class UserChannel(MethodView):
    @blp.response(204)
    @blp.doc(summary="Remove a user's channel (admin)")
    def delete(self, user_id: str, channel_id: int) -> None:
        found = _user_in(require("manage_accounts"), user_id)
        remove_channel(casework(), _channel_id(channel_id), user_id=found.user_id)
