"""The ``shine`` command.

Pure-core subcommands (``sofa``, ``design``, ``simulate``, ``analyse``) run without Django. Everything
else is handed to Django's management commands, so ``shine migrate``, ``shine serve``, ``shine demo``,
``shine users create …``, ``shine audit verify`` and ``shine export …`` all work.

Both speak the language LANGUAGE or LANG names (``LANG=da_DK.UTF-8``: Danish; anything else: English): the
pure-core subcommands through shine.i18n, Django's commands by activating it after django.setup() (they would
otherwise run in LANGUAGE_CODE).
"""

from __future__ import annotations

import importlib
import os
import sys

# subcommand -> module with a ``main(argv) -> int``; imported only when used
PURE_COMMANDS = {
    "sofa": "shine.clinical.cli",
    "design": "shine.design.cli",
    "simulate": "shine.simulation.cli",
    "analyse": "shine.analysis.cli",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in PURE_COMMANDS:
        module = importlib.import_module(PURE_COMMANDS[argv[0]])
        return int(module.main(argv[1:]) or 0)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shine.web.settings")
    import django
    from django.core.management import execute_from_command_line
    from django.utils import translation

    from shine.i18n import environment_language

    django.setup()
    translation.activate(environment_language())
    execute_from_command_line(["shine", *argv])
    return 0


if __name__ == "__main__":
    sys.exit(main())
