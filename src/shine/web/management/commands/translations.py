"""`shine translations update`: extract every catalogue's strings (new ones arrive untranslated, to be filled
in) and compile the .mo files the pages read. The catalogues are listed in shine.web.catalogues."""

from django.core.management.base import BaseCommand

from shine.web.catalogues import CATALOGUES, compile_all, extract


class Command(BaseCommand):
    help = "Update the translation catalogues (makemessages on each) and compile them."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["update", "compile"])

    def handle(self, *args, action, **options):
        if action == "update":
            for catalogue in CATALOGUES:
                extract(catalogue)
                self.stdout.write(f"extracted {catalogue.name}")
        compile_all()
        self.stdout.write("compiled")
