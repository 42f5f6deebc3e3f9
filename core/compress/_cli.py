"""The compress package's sub-commands, registered by `core/__main__.py` through `register_cli(subparsers)`:
`python -m core serve --run ID [--variant NAME]` serves one model of a run over HTTP on the loopback interface (see
`_serve`); `python -m core compress --run ID` builds and measures every variant of a run's model as a job with a
heartbeat in the run store (what a background compression runs)."""
from __future__ import annotations


def register_cli(subparsers) -> None:
    serve = subparsers.add_parser("serve", help="serve a run's model over HTTP through ONNX Runtime")
    serve.add_argument("--run", required=True, help="run id (python -m core list)")
    serve.add_argument("--variant", default=None, help="a compressed variant with an ONNX file (default: fp32)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost"],
                       help="loopback only")
    serve.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads")
    serve.set_defaults(func=cmd_serve)
    compress = subparsers.add_parser("compress", help="compress a run's model and measure every variant")
    compress.add_argument("--run", required=True, help="run id (python -m core list)")
    compress.add_argument("--threads", type=int, default=1, help="threads for every engine while timing")
    compress.add_argument("--no-onnx", action="store_true", help="skip the ONNX export and ONNX Runtime rows")
    compress.set_defaults(func=cmd_compress)


def cmd_compress(args) -> int:
    """Compress a run (progress on stderr) and print the headline of its trade-off table."""
    import sys

    from core.compress._data import CompressOptions
    from core.compress._pick import headline
    from core.compress._run import compress_run
    table = compress_run(args.run, CompressOptions(threads=args.threads, onnx=not args.no_onnx),
                         progress=lambda f, m, *_: print(f"[{f:6.1%}] {m}", file=sys.stderr, flush=True))
    print(headline(table))
    return 0


def cmd_serve(args) -> int:
    """Load the run's model and serve it until interrupted."""
    import uvicorn

    from core.compress._serve import create_app, load_served

    served = load_served(args.run, args.variant, threads=args.threads)
    print(f"Serving run {served.run_id}, variant '{served.variant}' on http://{args.host}:{args.port} "
          f"(docs at /docs)", flush=True)
    uvicorn.run(create_app(served), host=args.host, port=args.port, log_level="warning")
    return 0
