"""`python -m core serve --run ID [--variant NAME]`: the compress package's sub-command, registered by
`core/__main__.py` through `register_cli(subparsers)`. It serves one model of a run over HTTP on the loopback
interface (see `_serve`)."""
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


def cmd_serve(args) -> int:
    """Load the run's model and serve it until interrupted."""
    import uvicorn

    from core.compress._serve import create_app, load_served

    served = load_served(args.run, args.variant, threads=args.threads)
    print(f"Serving run {served.run_id}, variant '{served.variant}' on http://{args.host}:{args.port} "
          f"(docs at /docs)", flush=True)
    uvicorn.run(create_app(served), host=args.host, port=args.port, log_level="warning")
    return 0
