"""Putting the workspace on a Flask app: its settings, the session cookie, CSRF, translations and headers."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from engine.config import ConfigurationError
from engine.service import Casework
from web import i18n, labels

IDLE_MINUTES = 30
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
"""No inline script or style, nothing from another site: every asset is served by the app itself."""

csrf = CSRFProtect()


@dataclass(frozen=True)
class WebSettings:
    """The workspace's settings, from the environment; each wrong value is named."""

    idle_minutes: int = IDLE_MINUTES
    """A session unused this long is signed out (CASEWORK_SESSION_IDLE_MINUTES)."""
    secure_cookies: bool = False
    """Send the session cookie only over HTTPS even when the request does not look like HTTPS
    (CASEWORK_SECURE_COOKIES=1: behind a proxy that ends TLS and does not say so)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebSettings:
        env = os.environ if env is None else env
        raw_idle = env.get("CASEWORK_SESSION_IDLE_MINUTES") or str(IDLE_MINUTES)
        if not raw_idle.isdigit() or not 1 <= int(raw_idle) <= 24 * 60:
            raise ConfigurationError(
                f"CASEWORK_SESSION_IDLE_MINUTES must be a whole number of minutes from 1 to 1440, not {raw_idle!r}"
            )
        raw_secure = (env.get("CASEWORK_SECURE_COOKIES") or "0").strip().lower()
        if raw_secure not in ("0", "1", "true", "false", "yes", "no"):
            raise ConfigurationError(f"CASEWORK_SECURE_COOKIES must be 1 or 0, not {raw_secure!r}")
        return cls(idle_minutes=int(raw_idle), secure_cookies=raw_secure in ("1", "true", "yes"))


class WorkspaceSessions(SecureCookieSessionInterface):
    """Flask's signed session cookie, marked Secure whenever the request came over HTTPS (or always, if set)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["CASEWORK_SECURE_COOKIES"]) or request.is_secure

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """An empty session for a request without the cookie (every API call), without building a signer for it."""
        if request.cookies.get(self.get_cookie_name(app)) is None and app.secret_key:
            return self.session_class()
        return super().open_session(app, request)


def session_key(cw: Casework) -> bytes:
    """The key session cookies and CSRF tokens are signed with, derived from the installation's secret (the person
    key): every worker and machine of one installation shares it, and nothing new has to be kept."""
    return hmac.new(cw.persons.secret, b"casework web workspace session", hashlib.sha256).digest()


SCREENS: tuple[str, ...] = ("web.admin", "web.opening", "web.supervision", "web.exports", "web.inbox", "web.privacy")
"""The modules, besides web.views, whose routes make up the workspace."""


def register(app: Flask, settings: WebSettings | None = None) -> None:
    """Add the workspace at `/` to `app` (built by `api.app.create_app` over a Casework service)."""
    import importlib

    from web.views import blueprint

    for screen in SCREENS:
        importlib.import_module(screen)  # each adds its routes to the blueprint

    settings = settings or WebSettings()
    cw: Casework = app.extensions["casework"]
    app.secret_key = session_key(cw)
    app.session_interface = WorkspaceSessions()
    app.config.update(
        SESSION_COOKIE_NAME="casework_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        CASEWORK_SECURE_COOKIES=settings.secure_cookies,
        CASEWORK_SESSION_IDLE_MINUTES=settings.idle_minutes,
        WTF_CSRF_CHECK_DEFAULT=False,  # only the workspace's forms: the API's callers send bearer tokens, not cookies
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as its session (which the idle timeout ends)
    )
    csrf.init_app(app)
    i18n.init_app(app, cw.settings.tz)
    labels.init_app(app)
    app.register_blueprint(blueprint)


def secure_headers(response: Response) -> Response:
    """A page of the workspace runs no inline script, is never framed and is never kept by a cache."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if not request.path.startswith("/assets/"):
        response.headers["Cache-Control"] = "no-store"
    return response
