"""The clinical core's refusals in Danish when Danish is active (a page's language, or LANG for the command
line), with the limit's number written with a decimal comma; English is unchanged. Without Django the core
reads the same catalogue (shine/locale) with the standard library."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation

from shine import i18n
from shine.clinical import assess, check_rate, sofa, units
from shine.clinical.eligibility import criterion_text

SHINE = Path(sys.executable).with_name("shine")


def refusal(call, *args, **kwargs) -> str:
    with pytest.raises(ValueError) as info:
        call(*args, **kwargs)
    return str(info.value)


def test_sofa_range_refusal_in_danish_with_a_decimal_comma():
    with translation.override("da"):
        assert refusal(sofa, norepinephrine=6.5) == \
            "Noradrenalin skal ligge mellem 0 og 5 µg/kg/min; angivet: 6,5"
        assert refusal(sofa, gcs=16) == "GCS skal ligge mellem 3 og 15 point; angivet: 16"
        assert refusal(units.fio2_fraction, 5) == \
            "FiO2 skal være en brøk (0,21–1,0) eller en procent (21–100); angivet: 5"


def test_unit_refusal_in_danish():
    with translation.override("da"):
        assert refusal(units.to_platform_unit, "bilirubin", 2, "g/L") == \
            "Enheden for Bilirubin skal være en af µmol/L, umol/L, mg/dL; angivet: 'g/L'"


def test_english_is_unchanged():
    with translation.override("en"):
        assert refusal(sofa, norepinephrine=6.5) == "norepinephrine must lie between 0 and 5 µg/kg/min; got 6.5"
        assert refusal(units.fio2_fraction, 5) == \
            "fio2 must be a fraction (0.21–1.0) or a percentage (21–100); got 5"
        assert refusal(units.to_platform_unit, "bilirubin", 2, "g/L") == \
            "bilirubin unit must be one of µmol/L, umol/L, mg/dL; got 'g/L'"
        assert criterion_text("icu") == "in the ICU"


def test_eligibility_reasons_and_criteria_in_danish():
    with translation.override("da"):
        a = assess(age=17, in_icu=False, lactate_mmol_l=1.5)
        assert [f.reason for f in a.failed][:2] == ["alder 17 er under 18", "ikke indlagt på intensivafsnit"]
        assert "laktat 1,5 mmol/L er ikke over 2 mmol/L" in a.summary()
        assert a.summary().startswith("ikke egnet: ")
        assert criterion_text("icu") == "indlagt på intensivafsnit"
        assert a.reasons.startswith("age;icu")  # the stored codes never change with the language


def test_rate_check_summary_in_danish():
    with translation.override("da"):
        text = check_rate(2.5, 70).summary()
    assert text.startswith("registreret 2,5 mL/h mod beregnet 2,10 mL/h") and text.endswith("KONTROLLÉR")


def test_decimal_follows_the_active_language():
    with translation.override("da"):
        assert (i18n.decimal(0.21), i18n.decimal(1.0, ".1f"), i18n.decimal(2.5, "r"), i18n.decimal("2.5", "r")) == \
            ("0,21", "1,0", "2,5", "'2.5'")
    with translation.override("en"):
        assert i18n.decimal(0.21) == "0.21"


NO_DJANGO = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == 'django' or name.startswith('django.'):
            raise ImportError('django is blocked: ' + name)
sys.meta_path.insert(0, Block())
"""  # a script that starts so runs the core as a machine without Django would


def test_plurals_follow_the_count_in_either_language():
    one, many = "%(count)s problem in the analysis data set:", "%(count)s problems in the analysis data set:"
    with translation.override("da"):
        assert [i18n.ngettext(one, many, n) % {"count": n} for n in (1, 2)] == \
            ["1 problem i analysedatasættet:", "2 problemer i analysedatasættet:"]
    with translation.override("en"):
        assert i18n.ngettext(one, many, 1) % {"count": 1} == "1 problem in the analysis data set:"


PLURAL_WITHOUT_DJANGO = NO_DJANGO + """from shine import i18n
for n in (1, 3):
    print(i18n.ngettext("%(count)s problem in the analysis data set:", "%(count)s problems in the analysis data set:",
                        n) % {"count": n})
"""


@pytest.mark.parametrize("lang,expected", [
    ("da_DK.UTF-8", ["1 problem i analysedatasættet:", "3 problemer i analysedatasættet:"]),
    ("C", ["1 problem in the analysis data set:", "3 problems in the analysis data set:"]),
])
def test_without_django_plurals_follow_the_count(lang, expected):
    env = {**os.environ, "LANG": lang, "LANGUAGE": "", "PYTHONIOENCODING": "utf-8"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run([sys.executable, "-c", PLURAL_WITHOUT_DJANGO], capture_output=True, text=True, env=env,
                          check=True)
    assert proc.stdout.splitlines() == expected


BLOCKED = NO_DJANGO + """from shine.clinical import sofa
try:
    sofa(platelets=2500.5)
except ValueError as exc:
    print(exc)
"""


@pytest.mark.parametrize("lang,expected", [
    ("da_DK.UTF-8", "Trombocytter skal ligge mellem 0 og 2000 10⁹/L; angivet: 2500,5"),
    ("C", "platelets must lie between 0 and 2000 10⁹/L; got 2500.5"),
])
def test_without_django_the_environment_language_is_used(lang, expected):
    env = {**os.environ, "LANG": lang, "LANGUAGE": "", "PYTHONIOENCODING": "utf-8"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run([sys.executable, "-c", BLOCKED], capture_output=True, text=True, env=env, check=True)
    assert proc.stdout.strip() == expected


SIMULATE = ["simulate", "oc", "--trials", "0", "--effect", "0"]


@pytest.mark.parametrize("lang,argv,expected", [
    ("da_DK.UTF-8", ["sofa", "--gcs", "16"], "shine sofa: fejl: GCS skal ligge mellem 3 og 15 point; angivet: 16"),
    ("C", ["sofa", "--gcs", "16"], "shine sofa: error: gcs must lie between 3 and 15 points; got 16"),
    ("da_DK.UTF-8", SIMULATE, "shine simulate: n_trials skal være et heltal ≥ 1; angivet: 0"),
    ("C", SIMULATE, "shine simulate: n_trials must be an integer ≥ 1; got 0"),
])
def test_the_shine_command_speaks_the_language_lang_names(lang, argv, expected):
    env = {**os.environ, "LANG": lang, "LANGUAGE": "", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run([str(SHINE), *argv], capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and proc.stderr.strip() == expected


@pytest.mark.parametrize("lang,expected", [
    ("da_DK.UTF-8", "da Noradrenalin skal ligge mellem 0 og 5 µg/kg/min; angivet: 6,5"),
    ("C", "en norepinephrine must lie between 0 and 5 µg/kg/min; got 6.5"),
])
def test_django_management_commands_run_in_the_language_lang_names(lang, expected):
    """`shine <management command>` activates LANG's language after django.setup() (else LANGUAGE_CODE)."""
    code = ("from django.utils import translation\nfrom shine.clinical import sofa\n"
            "try:\n    sofa(norepinephrine=6.5)\nexcept ValueError as exc:\n    print(translation.get_language(), exc)")
    env = {**os.environ, "LANG": lang, "LANGUAGE": "", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run([str(SHINE), "shell", "--no-imports", "-c", code], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == expected


def test_a_refusal_names_its_field_whatever_the_language():
    """Forms put a refusal at its field from ``exc.field``, never by reading the (translated) message."""
    from shine.clinical.words import FieldError

    with translation.override("da"):
        for call, kwargs, field in ((assess, {"lactate_mmol_l": 45}, "lactate_mmol_l"), (assess, {"sex": "X"}, "sex"),
                                    (sofa, {"gcs": 2}, "gcs"), (sofa, {"creatinine": -1}, "creatinine")):
            with pytest.raises(FieldError) as info:
                call(**kwargs)
            assert info.value.field == field
