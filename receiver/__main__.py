"""`python -m receiver`: the receiver alone, headless, without the app package."""

from __future__ import annotations

import argparse
import logging
import sys

from receiver.config import ReceiverConfig
from receiver.headless import serve_until_stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m receiver", description=__doc__)
    parser.add_argument("--db", help="SQLite file (default: the per-user data directory)")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--grpc-port", type=int, help="OTLP/gRPC port (default 4317; 0 = any free)")
    parser.add_argument("--http-port", type=int, help="OTLP/HTTP port (default 4318; 0 = any free)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    config = ReceiverConfig.resolve(db_path=args.db, host=args.host, grpc_port=args.grpc_port,
                                    http_port=args.http_port)
    return serve_until_stopped(config)


if __name__ == "__main__":
    sys.exit(main())
