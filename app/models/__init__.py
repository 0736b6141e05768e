"""Qt item models over the receiver's records (QtCore only: no widgets, no I/O)."""
