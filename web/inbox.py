"""Each person's inbox of notifications (unread first, marked read when opened) and the channels they are told
through (e-mail, WeCom, DingTalk, Feishu, a webhook; the daily digest muted or not). Both are the engine's
(engine/notifications.py, engine/channels.py), as the API's /me/notifications and /me/channels are."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from aggregates.errors import InvalidCommand
from engine.accounts import User
from engine.channels import KINDS, ChannelNotFound, add_channel, list_channels, remove_channel, shown_target
from engine.notifications import NotificationNotFound, list_inbox, read_notification, unread_count
from web.views import blueprint, casework, page, page_count, requested_page

PER_PAGE = 20


@blueprint.app_context_processor
def _inbox_context() -> dict[str, Any]:
    return {"unread_notifications": unread}


def unread(user: User) -> int:
    """How many of the user's notifications are unread (shown beside the inbox link)."""
    return unread_count(casework(), user.user_id)


@blueprint.get("inbox")
def inbox() -> Any:
    user: User = g.web_user
    page_number = requested_page()
    entries, total, unread_count = list_inbox(casework(), user.user_id, page=page_number, per_page=PER_PAGE)
    tz = casework().settings.tz
    rows = [{**entry.to_dict(), "created_at": entry.created_at.astimezone(tz)} for entry in entries]
    pages = page_count(total, PER_PAGE)
    return page("inbox.html", rows=rows, total=total, unread=unread_count, page_number=page_number, pages=pages)


@blueprint.post("inbox/<int:notification_id>/read")
def mark_read(notification_id: int) -> BaseResponse:
    """Mark a notification read; then open its case (`open`) or go back to the inbox."""
    user: User = g.web_user
    try:
        read_notification(casework(), user.user_id, notification_id)
    except NotificationNotFound:
        return redirect(url_for("web.inbox"))
    number = request.form.get("open")
    if number:
        return redirect(url_for("web.case_page", number=number))
    return redirect(url_for("web.inbox", page=request.form.get("page") or None))


@blueprint.route("settings/channels", methods=["GET", "POST"])
def channels() -> Any:
    """The reader's own channels: add one (its target checked by the engine), or switch one off."""
    user: User = g.web_user
    problems: dict[str, str] = {}
    values = request.form if request.method == "POST" else {}
    status = 200
    if request.method == "POST":
        removed = request.form.get("remove", "")
        try:
            if removed.isdigit():
                remove_channel(casework(), int(removed), user_id=user.user_id)
            else:
                add_channel(
                    casework(),
                    user.user_id,
                    request.form.get("kind", ""),
                    request.form.get("target", "").strip(),
                    digest_muted=request.form.get("digest_muted") == "on",
                )
            return redirect(url_for("web.channels"), 303)
        except ChannelNotFound:
            return redirect(url_for("web.channels"), 303)
        except InvalidCommand as refused:
            problems, status = dict(refused.fields), 422
    shown = [{"channel": c, "target": shown_target(c.kind, c.target)} for c in list_channels(casework(), user.user_id)]
    message = gettext("Not added: see the fields marked below.") if problems else None
    return page("channels.html", status, channels=shown, kinds=KINDS, problems=problems, values=values, message=message)
