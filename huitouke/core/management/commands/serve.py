"""`huitouke serve`: the production WSGI server (gunicorn), static files served by WhiteNoise."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from huitouke.wsgi import application

        return application


class Command(BaseCommand):
    help = "Run the web app with gunicorn (not runserver). Collects static files first."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port (default 127.0.0.1:8000)")
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument("--timeout", type=int, default=60)
        parser.add_argument("--no-collectstatic", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not opts["no_collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"huitouke serving on http://{opts['bind']}/ with {opts['workers']} workers")
        _Gunicorn({
            "bind": opts["bind"], "workers": opts["workers"], "threads": opts["threads"],
            "timeout": opts["timeout"], "accesslog": None, "errorlog": "-", "worker_class": "gthread",
        }).run()
