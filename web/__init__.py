"""The web workspace: server-rendered screens for mediators, caseworkers and supervisors, on the API's Flask app.

Its views call the engine (`Casework`, `engine.queries`, `engine.views`, `engine.passwords`) directly, never the
HTTP API; who may see and do what is still `engine/access.py`, the org-unit scope and the stage tables.
`bootstrap.http_app` adds it to the app `api.app.create_app` builds, with `register`.
"""

from web.app import WebSettings, register

__all__ = ["WebSettings", "register"]
