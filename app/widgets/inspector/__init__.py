"""The span inspector: the selected span's Overview, Messages, Attributes, Events & logs,
Evaluations and Raw tabs."""

from app.widgets.inspector.inspector import TAB_NAMES, InspectorPanel

__all__ = ["InspectorPanel", "TAB_NAMES"]
