"""SHINE: the platform that runs the SHINE trial (iloprost in septic shock with endotheliopathy)."""

__version__ = "0.1.0"
