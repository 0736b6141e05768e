"""Tracepane: the desktop app and the `tracepane` command line."""


def __getattr__(name: str) -> str:
    if name == "__version__":  # from the package metadata, on demand (app.version)
        from app.version import app_version

        return app_version()
    raise AttributeError(f"module 'app' has no attribute {name!r}")
