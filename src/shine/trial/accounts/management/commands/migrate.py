"""shine migrate: Django's migrate, then the protocol's reference data (its sites), idempotently.

So a fresh production database has its sites before the first user is created, and a protocol amendment
that adds a site adds it with the next migrate. Only when run as a command: the test databases that
Django's test runner migrates start empty, as the tests expect.
"""

from django.core.management.commands.migrate import Command as DjangoMigrate

from shine.trial.accounts.services import sync_sites_from_protocol
from shine.trial.audit.services import Actor


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " Then the protocol's sites."

    def run_from_argv(self, argv):
        options = self.create_parser(argv[0], argv[1]).parse_args(argv[2:])
        super().run_from_argv(argv)
        if options.plan or options.check_unapplied or options.database != "default":
            return
        sites = sync_sites_from_protocol(actor=Actor.system("migrate"))
        from django.utils.translation import gettext as _

        self.stdout.write(_("Protocol sites: %(sites)s") % {"sites": ", ".join(s.code for s in sites)})
