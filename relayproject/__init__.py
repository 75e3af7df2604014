"""The Django project that plays every Relay server role."""

__version__ = "0.1.0"
