"""OTLP on the wire: decoding requests into records, and the gRPC and HTTP transports."""
