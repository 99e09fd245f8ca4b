#!/usr/bin/env python3
"""Signs S3 requests with botocore's SigV2 signers (HmacV1Auth for the
Authorization header, HmacV1QueryAuth for presigned URLs) and prints them as
JSON, for sigv2's cross-check test. Nothing is sent over the network: a
before-send hook captures each request and aborts it.

stdin:  {"now": <epoch seconds>, "endpoint": "http://host:port",
         "access_key": ..., "secret_key": ..., "cases": [case, ...]}
case:   {"name", "op", "params", "style": "path"|"virtual", "token", "presign":
         bool, "expires_in": seconds}
        (or "presign_post": true for a browser POST form)
stdout: [{"name", "method", "url", "headers": [[k, v], ...], "fields": {...},
          "error"}, ...]
"""
import json
import sys
import time

import botocore.session
from botocore.config import Config

spec = json.load(sys.stdin)
NOW = float(spec["now"])
# botocore takes the Date header and the Expires value from the clock.
time.time = lambda: NOW


class Captured(Exception):
    pass


def capture(request, **kwargs):
    raise Captured(request)


def decode_blobs(params):
    out = {}
    for k, v in params.items():
        if isinstance(v, dict) and "__bytes__" in v:
            v = v["__bytes__"].encode("utf-8")
        out[k] = v
    return out


session = botocore.session.get_session()
results = []
for case in spec["cases"]:
    res = {"name": case["name"]}
    try:
        client = session.create_client(
            "s3",
            region_name="us-east-1",
            endpoint_url=spec["endpoint"],
            aws_access_key_id=spec["access_key"],
            aws_secret_access_key=spec["secret_key"],
            aws_session_token=case.get("token") or None,
            config=Config(
                signature_version="s3",
                s3={"addressing_style": case.get("style", "path")},
                retries={"max_attempts": 1},
            ),
        )
        params = decode_blobs(case.get("params", {}))
        if case.get("presign_post"):
            post = client.generate_presigned_post(
                params["Bucket"], params["Key"], Fields=case.get("fields"),
                Conditions=case.get("conditions"), ExpiresIn=case.get("expires_in", 3600))
            res["method"] = "POST"
            res["url"] = post["url"]
            res["headers"] = []
            res["fields"] = post["fields"]
        elif case.get("presign"):
            res["method"] = case.get("http_method", "GET")
            res["url"] = client.generate_presigned_url(
                case["op"], Params=params, ExpiresIn=case.get("expires_in", 3600),
                HttpMethod=case.get("http_method"))
            res["headers"] = []
        else:
            client.meta.events.register("before-send.s3", capture)
            try:
                getattr(client, case["op"])(**params)
                res["error"] = "request was not captured"
            except Captured as c:
                req = c.args[0]
                res["method"] = req.method
                res["url"] = req.url
                hs = []
                for k in req.headers.keys():
                    for v in req.headers.get_all(k) if hasattr(req.headers, "get_all") else [req.headers[k]]:
                        if isinstance(v, bytes):
                            v = v.decode("utf-8")
                        hs.append([k, v])
                res["headers"] = hs
    except Exception as e:  # report per case, keep going
        res["error"] = "%s: %s" % (type(e).__name__, e)
    results.append(res)
json.dump(results, sys.stdout, indent=1)
