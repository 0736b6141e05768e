"""The desktop app's widgets (QtWidgets): composition and painting; data comes from models."""
