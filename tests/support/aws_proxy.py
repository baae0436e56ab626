#!/usr/bin/env python3
"""A small HTTP proxy between the AWS SDK and moto, for tests and benchmarks.

It forwards every request to moto unchanged, and can:
  * count requests per AWS action (GET /__proxy/stats, POST /__proxy/reset),
  * add latency to every forwarded request (--latency-ms),
  * record request bodies per action (in stats, 20 per action),
  * tell which account's credentials signed each request (stats["accounts"][action]): the
    access keys AssumeRole hands out are mapped to the role's account, any other key is
    "caller",
  * answer chosen actions with a canned body ({"action", "status": 200, "body": {...}}),
  * answer chosen actions with an AWS error instead of forwarding (POST /__proxy/faults with
    [{"action": "DescribeNetworkInterfaces", "status": 403, "code": "UnauthorizedOperation",
      "times": -1}], times = -1 for always, N for the next N matching requests).

The action is read the way AWS routes it: `X-Amz-Target` (JSON protocols: ECS, Config,
DynamoDB) or the `Action` form field (query protocols: EC2, SNS, SQS, ELBv2).
Usage: aws_proxy.py --upstream http://127.0.0.1:5000 --port 0 --port-file FILE [--latency-ms N]
"""
import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
RESET_AT = time.monotonic()
STATS = {"total": 0, "by_action": {}, "in_flight": 0, "max_in_flight": 0, "requests": {}, "timeline": [],
         "accounts": {}}
# Access key id -> the account of the role it was issued for (AssumeRole answers).
KEY_ACCOUNTS = {}
FAULTS = []
EC2_LIKE = {"ec2"}


# REST-JSON protocols route by path: the actions the tests look at.
REST_ACTIONS = {"/findings/import": "BatchImportFindings", "/findings": "GetFindings"}


def action_of(headers, body, path=""):
    target = headers.get("X-Amz-Target")
    if target:
        return target.split(".")[-1]
    route = path.split("?")[0]
    rest = REST_ACTIONS.get(route)
    if rest:
        return rest
    if route.startswith("/2015-03-31/functions/") and route.endswith("/invocations"):
        return "Invoke"
    try:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        return form.get("Action", ["?"])[0]
    except Exception:
        return "?"


def access_key_of(headers):
    auth = headers.get("Authorization", "")
    try:
        return auth.split("Credential=")[1].split("/")[0]
    except Exception:
        return "?"


def role_account(body):
    try:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        return form.get("RoleArn", [""])[0].split(":")[4]
    except Exception:
        return "?"


def service_of(headers):
    auth = headers.get("Authorization", "")
    # Credential=AKID/20250101/us-east-1/ec2/aws4_request
    try:
        scope = auth.split("Credential=")[1].split(",")[0].split("/")
        return scope[3]
    except Exception:
        return "?"


def error_response(service, fault, json_protocol):
    code, message = fault["code"], fault.get("message", "injected by aws_proxy")
    if json_protocol:
        body = json.dumps({"__type": code, "message": message}).encode()
        return body, "application/x-amz-json-1.1", {"x-amzn-errortype": code}
    if service in EC2_LIKE:
        body = (
            f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error></Errors><RequestID>proxy</RequestID></Response>"
        ).encode()
    else:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>proxy</RequestId></ErrorResponse>"
        ).encode()
    return body, "text/xml", {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are separate writes: without this, Nagle + delayed ACK add ~40 ms.
    disable_nagle_algorithm = True
    upstream = None
    latency = 0.0

    def log_message(self, *args):
        pass

    def _reply(self, status, body, content_type="application/json", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _control(self, body):
        global FAULTS, RESET_AT
        if self.path == "/__proxy/stats":
            with LOCK:
                return self._reply(200, json.dumps(STATS).encode())
        if self.path == "/__proxy/reset":
            with LOCK:
                STATS.update({"total": 0, "by_action": {}, "in_flight": 0, "max_in_flight": 0, "requests": {},
                              "accounts": {}, "timeline": []})
                RESET_AT = time.monotonic()
                FAULTS = []
            return self._reply(200, b"{}")
        if self.path == "/__proxy/faults":
            with LOCK:
                FAULTS = json.loads(body or b"[]")
            return self._reply(200, b"{}")
        if self.path == "/__proxy/latency":
            Handler.latency = float(json.loads(body)["ms"]) / 1000.0
            return self._reply(200, b"{}")
        return self._reply(404, b"{}")

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/__proxy/"):
            return self._control(body)
        action = action_of(self.headers, body, self.path)
        service = service_of(self.headers)
        fault = None
        with LOCK:
            STATS["total"] += 1
            STATS["by_action"][action] = STATS["by_action"].get(action, 0) + 1
            # When each call arrived (seconds since the last reset): the burst benchmark's
            # calls per second and its simulation of EC2's token buckets.
            STATS["timeline"].append([round(time.monotonic() - RESET_AT, 4), action])
            recorded = STATS["requests"].setdefault(action, [])
            # Enough for a scan of every parallel test's clusters in the shared moto.
            if len(recorded) < 500 and len(body) < 65536:
                recorded.append(body.decode("utf-8", "replace"))
            signer = KEY_ACCOUNTS.get(access_key_of(self.headers), "caller")
            seen = STATS["accounts"].setdefault(action, [])
            if signer not in seen:
                seen.append(signer)
            STATS["in_flight"] += 1
            STATS["max_in_flight"] = max(STATS["max_in_flight"], STATS["in_flight"])
            for f in FAULTS:
                if f["action"] == action and f.get("times", -1) != 0:
                    if f.get("times", -1) > 0:
                        f["times"] -= 1
                    fault = f
                    break
        try:
            if Handler.latency:
                time.sleep(Handler.latency)
            if fault is not None:
                if fault.get("hang_ms"):
                    time.sleep(fault["hang_ms"] / 1000.0)
                json_protocol = self.headers.get("X-Amz-Target") is not None
                if "body" in fault:
                    # A canned success answer (an API the emulator lacks): the request is recorded.
                    return self._reply(int(fault.get("status", 200)), json.dumps(fault["body"]).encode(),
                                       "application/x-amz-json-1.1")
                data, ctype, extra = error_response(service, fault, json_protocol)
                return self._reply(int(fault.get("status", 400)), data, ctype, extra)
            conn = http.client.HTTPConnection(Handler.upstream.hostname, Handler.upstream.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if action == "AssumeRole" and resp.status == 200:
                text = data.decode("utf-8", "replace")
                if "<AccessKeyId>" in text:
                    key = text.split("<AccessKeyId>")[1].split("</AccessKeyId>")[0]
                    with LOCK:
                        KEY_ACCOUNTS[key] = role_account(body)
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()
        finally:
            with LOCK:
                STATS["in_flight"] -= 1

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--latency-ms", type=float, default=0)
    a = p.parse_args()
    Handler.upstream = urllib.parse.urlparse(a.upstream)
    Handler.latency = a.latency_ms / 1000.0
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.replace(a.port_file + ".tmp", a.port_file)
    print(port, flush=True)
    # Stop when the parent closes our stdin (tests), or on SIGTERM.
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sys.stdin.read()
    except Exception:
        pass
    server.shutdown()


if __name__ == "__main__":
    main()
