#!/usr/bin/env python3
"""A stand-in for AWS STS and S3 on loopback, for the IRSA test (tests/integration/media_s3_test.cpp).

    fake_aws.py TOKEN ROLE_ARN    prints "port N" once listening on 127.0.0.1

POST / answers AssumeRoleWithWebIdentity: credentials when the form names ROLE_ARN and TOKEN,
STS's InvalidIdentityToken error otherwise. PUT/GET/DELETE /BUCKET/KEY keep objects in memory.
GET /_log lists every request: the STS forms, and for S3 the access key of the Authorization
header and the x-amz-security-token, so the test can see which credentials signed what.
"""
import datetime
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN, ROLE = sys.argv[1], sys.argv[2]
objects, log = {}, []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", content_type="application/xml"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def s3(self, method):
        auth = self.headers.get("Authorization", "")
        key = auth.split("Credential=", 1)[1].split("/", 1)[0] if "Credential=" in auth else ""
        log.append({"kind": "s3", "method": method, "path": self.path, "access_key": key,
                    "session_token": self.headers.get("x-amz-security-token", "")})

    def do_POST(self):
        form = {k: v[0] for k, v in urllib.parse.parse_qs(self.body().decode()).items()}
        log.append({"kind": "sts", "form": form})
        if form.get("Action") != "AssumeRoleWithWebIdentity" or form.get("WebIdentityToken") != TOKEN \
                or form.get("RoleArn") != ROLE:
            return self.reply(400, b"<ErrorResponse><Error><Code>InvalidIdentityToken</Code>"
                                   b"<Message>token or role not accepted</Message></Error></ErrorResponse>")
        expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
        body = ("<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
                "<AccessKeyId>ASIAFAKEIRSA</AccessKeyId><SecretAccessKey>fake-secret</SecretAccessKey>"
                "<SessionToken>fake-session-token</SessionToken>"
                f"<Expiration>{expires.strftime('%Y-%m-%dT%H:%M:%SZ')}</Expiration>"
                "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>")
        self.reply(200, body.encode())

    def do_PUT(self):
        self.s3("PUT")
        objects[self.path] = self.body()
        self.reply(200)

    def do_GET(self):
        if self.path == "/_log":
            return self.reply(200, json.dumps(log).encode(), "application/json")
        self.s3("GET")
        if self.path in objects:
            return self.reply(200, objects[self.path], "application/octet-stream")
        self.reply(404, b"<Error><Code>NoSuchKey</Code></Error>")

    def do_DELETE(self):
        self.s3("DELETE")
        objects.pop(self.path, None)
        self.reply(204)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"port {server.server_address[1]}", flush=True)
server.serve_forever()
