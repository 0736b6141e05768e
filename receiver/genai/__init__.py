"""GenAI understanding: one canonical record per span whichever instrumentation sent it
(`normalise` over one module per convention family), its cost from bundled price data
(`pricing`), the message shapes (`messages`), and the analyser the ingest path calls
(`analyser`). Pure: no I/O on the ingest path (the price book reads its data once).

Import the modules themselves: this package imports nothing, so that reading commands
that need only `assemble` never load the price data.
"""
