"""System checks with stable ids: the protocol file must load and agree with the database's sites."""

from django.core import checks

from shine import protocol


@checks.register()
def protocol_is_valid(app_configs=None, **kwargs):
    try:
        protocol.load()
    except (ValueError, KeyError, TypeError, OSError) as exc:
        return [checks.Error(f"the trial protocol cannot be loaded: {exc}", id="shine.E001",
                             hint="fix protocol.toml (or SHINE_PROTOCOL_FILE)")]
    return []
