"""The pure core must import and work with Django absent (DESIGN.md, principle 1)."""

import subprocess
import sys

import pytest

CORE = ["shine.protocol", "shine.clinical", "shine.design", "shine.analysis", "shine.simulation",
        "shine.central_monitoring", "shine.exchange"]

BLOCK_DJANGO = """
import importlib, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == 'django' or name.startswith('django.') or name.startswith('ninja'):
            raise ImportError('django is blocked in the pure core: ' + name)
sys.meta_path.insert(0, Block())
OPTIONAL = {'torch', 'triton'}
import pkgutil
pkg = importlib.import_module(sys.argv[1])
for mod in pkgutil.walk_packages(getattr(pkg, '__path__', []), pkg.__name__ + '.'):
    try:
        importlib.import_module(mod.name)
    except ModuleNotFoundError as exc:  # the optional GPU backend needs torch and Triton, not Django
        if exc.name not in OPTIONAL:
            raise
print('ok')
"""


@pytest.mark.parametrize("package", CORE)
def test_core_package_imports_without_django(package):
    proc = subprocess.run([sys.executable, "-c", BLOCK_DJANGO, package], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
