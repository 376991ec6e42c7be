"""shine serve [--host 127.0.0.1] [--port 8000] [--workers N]: the web app under gunicorn."""

import os
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = "Run the web app (gunicorn). Settings come from the environment."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")))

    def handle(self, *args, host, port, workers, threads, **opts):
        if not 0 < port < 65536:
            raise CommandError(_("--port must be between 1 and 65535, got %(port)s") % {"port": port})
        if workers < 1 or threads < 1:
            raise CommandError(_("--workers and --threads must be at least 1"))
        self.stdout.write(f"SHINE serving on http://{host}:{port}/ (Ctrl-C stops)")
        self.stdout.flush()
        argv = [sys.executable, "-m", "gunicorn", "shine.web.wsgi:application", "--bind", f"{host}:{port}",
                "--workers", str(workers), "--threads", str(threads), "--access-logfile", "-",
                "--graceful-timeout", "5"]
        os.execv(sys.executable, argv)
