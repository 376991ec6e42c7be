"""shine demo: migrate and load the demo data (sites, one user per role) into the configured database."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from shine.trial.accounts import second_factor
from shine.trial.accounts.models import User
from shine.trial.accounts.roles import ROLES
from shine.trial.accounts.services import create_user, set_language, sync_sites_from_protocol
from shine.trial.audit.services import Actor

# demo users: (username, role, sites); one per role, nurses at two sites to show site isolation
DEMO_USERS = [
    ("investigator", "investigator", ["HGH"]),
    ("nurse", "nurse", ["HGH"]),
    ("nurse_rh", "nurse", ["RH"]),
    ("pharmacist", "pharmacist", []),
    ("trial_manager", "trial_manager", []),
    ("data_manager", "data_manager", []),
    ("monitor", "monitor", []),
    ("statistician", "statistician", []),
    ("dsmb_statistician", "dsmb_statistician", []),
    ("pharmacovigilance", "pharmacovigilance", []),
    ("auditor", "auditor", []),
    ("admin", "admin", []),
]
DEMO_PASSWORD = "septic-shock-demo"  # one shared password: demo data only
# the users whose own setting is Danish (the others follow the browser): docs/languages.md
DEMO_DANISH = {"nurse_rh"}


class Command(BaseCommand):
    help = "Migrate and load demo data: the protocol's sites and one user per role (passwords printed)."

    def handle(self, *args, **opts):
        call_command("migrate", interactive=False, verbosity=0)
        actor = Actor.system("demo")
        sync_sites_from_protocol(actor=actor)
        assert {r for _, r, _ in DEMO_USERS} == set(ROLES)
        self.stdout.write("Demo users (username / password / role / sites):")
        for username, role, sites in DEMO_USERS:
            password = DEMO_PASSWORD
            if not User.objects.filter(username=username).exists():
                user, _ = create_user(actor=actor, username=username, role=role, sites=sites, password=password,
                                      full_name=username.replace("_", " ").title())
                if username in DEMO_DANISH:
                    set_language(user, actor=actor, language="da")
            language = "Dansk" if username in DEMO_DANISH else ""
            self.stdout.write(f"  {username:<18} {password:<32} {role:<18} {', '.join(sites) or 'all':<8} {language}")
        self.stdout.write("Second factor of the roles that need one (type the secret into an authenticator app, "
                          "or log in once with a recovery code):")
        for username, role, _ in DEMO_USERS:
            if ROLES[role].second_factor:
                secret, codes = second_factor.enrol_for_demo(User.objects.get(username=username))
                self.stdout.write(f"  {username:<18} secret {secret}   recovery codes {' '.join(codes)}")
        from shine.demo.randomisation import setup_randomisation

        for line in setup_randomisation(pharmacist=User.objects.get(username="pharmacist")):
            self.stdout.write(f"  {line}")
        import os

        from shine.demo.trial import load_demo_trial

        n = int(os.environ.get("SHINE_DEMO_PARTICIPANTS", "40"))  # 0: no simulated participants
        if os.environ.get("SHINE_DEMO_INTERIM", "") == "1":  # optional: a trial past the interim, all six sites
            from shine.trial.reports.demo import load_interim_ready_trial

            for line in load_interim_ready_trial(pharmacist=User.objects.get(username="pharmacist"),
                                                 password=DEMO_PASSWORD):
                self.stdout.write(f"  {line}")
        if n > 0:
            staff = {"HGH": User.objects.get(username="nurse"), "RH": User.objects.get(username="nurse_rh")}
            for line in load_demo_trial(users=staff, pharmacist=User.objects.get(username="pharmacist"), n_patients=n):
                self.stdout.write(f"  {line}")
            from shine.trial.safety.demo import load_demo_safety

            for line in load_demo_safety(nurse=staff["HGH"],
                                         pharmacovigilance=User.objects.get(username="pharmacovigilance")):
                self.stdout.write(f"  {line}")
            from shine.trial.records.lab_demo import load_demo_labs

            for line in load_demo_labs(nurse=staff["HGH"]):
                self.stdout.write(f"  {line}")
            from shine.trial.monitoring.demo import load_demo_monitoring

            for line in load_demo_monitoring(nurse=staff["HGH"], investigator=User.objects.get(username="investigator"),
                                             monitor=User.objects.get(username="monitor"),
                                             data_manager=User.objects.get(username="data_manager"),
                                             password=DEMO_PASSWORD):
                self.stdout.write(f"  {line}")
            from shine.trial.reports.export_demo import load_demo_exports

            for line in load_demo_exports(statistician=User.objects.get(username="statistician")):
                self.stdout.write(f"  {line}")
        if os.environ.get("SHINE_DEMO_INTERIM", "") == "1":  # optional: a freeze and the interim on it
            from shine.trial.reports.demo import load_demo_interim

            for line in load_demo_interim(dsmb=User.objects.get(username="dsmb_statistician")):
                self.stdout.write(f"  {line}")
        self.stdout.write("Demo data loaded.")
