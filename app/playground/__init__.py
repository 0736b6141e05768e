"""The playground: re-run a recorded model call, edited, and compare the answers."""
