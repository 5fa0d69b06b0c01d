"""A stand-in for llama-cpp-python's server, for tests of what starts and reads it."""

from __future__ import annotations

import textwrap

# A stand-in for llama-cpp-python's server: same module path and flags, a fixed answer,
# and a count of the requests it answered (in a file beside it).
FAKE_SERVER = textwrap.dedent(
    """
    import argparse, json, pathlib
    from http.server import BaseHTTPRequestHandler, HTTPServer

    parser = argparse.ArgumentParser()
    flags = ("--model", "--host", "--port", "--n_ctx", "--n_threads", "--n_threads_batch", "--logits_all")
    for flag in flags:
        parser.add_argument(flag)
    args = parser.parse_args()
    if args.logits_all != "false":  # the real server would keep n_ctx x vocab logits in memory
        raise SystemExit("start llama_cpp.server with --logits_all false")
    counter = pathlib.Path(__file__).with_name("requests.txt")

    class Handler(BaseHTTPRequestHandler):
        def _send(self, body):
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._send({"data": [{"id": args.model}]})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            counter.write_text(str(int(counter.read_text() or 0) + 1) if counter.exists() else "1")
            answer = "Paris\\nbecause" if "Paris" in body["messages"][-1]["content"] else "unknown"
            self._send({"choices": [{"message": {"content": answer}}]})

        def log_message(self, *args):
            pass

    HTTPServer((args.host, int(args.port)), Handler).serve_forever()
    """
)
