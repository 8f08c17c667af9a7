"""gunicorn, run in-process: one Flask app (and one engine) per worker process."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class CaseworkServer(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from api.app import create_app

        return create_app()


def serve(host: str, port: int, workers: int, **options: Any) -> None:
    """Serve the API until interrupted; the app is built after the fork, so workers share no connection."""
    CaseworkServer({"bind": f"{host}:{port}", "workers": workers, "preload_app": False,
                    "accesslog": "-", "graceful_timeout": 10, **options}).run()
