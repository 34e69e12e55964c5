#!/usr/bin/env python3
"""A stand-in for the Kubernetes API server that only records Events, for scripts/demo.sh.

polycsi posts its migration events (MigrationStarted, MigrationCompleted, MigrationFailed,
AttachmentConflict) to the PVC through the API server given by --kubernetes-api. This server
listens on 127.0.0.1, checks the Bearer token, stores every posted core/v1 Event as one JSON
line in EVENTS_FILE and answers 201 as the API server does. The demo's cluster has no
VolumeAttachments (the demo makes the external-attacher's CSI calls itself), so the list of
storage.k8s.io/v1 VolumeAttachments is answered empty: the controller's first reconciliation
pass, which it completes before it serves publishes, finds nothing to rebuild. The demo starts
the controller with a resync period longer than itself, so no later pass forgets the
attachments its direct calls made. The demo registers its nodes' storage.k8s.io/v1 CSINodes
(POST, as kubelet does when node-driver-registrar registers the node plugin), and the sink
serves them back to the controller, which publishes only to node ids a CSINode carries. The
demo's cluster has no PersistentVolumeClaims or PersistentVolumes either (its volumes come from
direct CSI calls), so reading one, as the controller does at a publish to find the volume's
VolumeAttributesClass, gets 404 NotFound as from an API server without that object. Every other
request gets 503 with a meta/v1 Status.

Usage: kube_event_sink.py TOKEN_FILE EVENTS_FILE
Prints "kube-event-sink listening on 127.0.0.1:PORT" once it accepts connections; stops on
SIGTERM or SIGINT.
"""
import http.server
import json
import re
import signal
import sys
import threading
import uuid

VOLUME_ATTACHMENTS_PATH = re.compile(r"^/apis/storage\.k8s\.io/v1/volumeattachments(\?.*)?$")
CSI_NODES_PATH = re.compile(r"^/apis/storage\.k8s\.io/v1/csinodes$")
CLAIM_PATH = re.compile(r"^/api/v1/namespaces/([-.a-z0-9]+)/persistentvolumeclaims/([-.a-z0-9]+)$")
VOLUME_PATH = re.compile(r"^/api/v1/persistentvolumes/([-.a-z0-9]+)$")
CSI_NODE_PATH = re.compile(r"^/apis/storage\.k8s\.io/v1/csinodes/([a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?)$")
EVENTS_PATH = re.compile(r"^/api/v1/namespaces/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)/events$")
MAX_BODY_BYTES = 1 << 20


def status_body(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
            "reason": reason, "message": message}


class EventSinkHandler(http.server.BaseHTTPRequestHandler):
    # Seconds a client may take to send its request before the connection is dropped.
    timeout = 10
    token = ""
    events_file = ""
    lock = threading.Lock()
    csi_nodes = {}  # name -> CSINode, as registered

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # the demo prints the events it cares about itself

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        if self.headers.get("Authorization") == "Bearer " + self.token:
            return True
        self.reply(401, status_body(401, "Unauthorized", "Unauthorized"))
        return False

    def do_GET(self):  # noqa: N802 - http.server's naming
        if not self.authorized():
            return
        node = CSI_NODE_PATH.match(self.path)
        if node:
            with self.lock:
                found = self.csi_nodes.get(node.group(1))
            if found is None:
                self.reply(404, status_body(404, "NotFound",
                                            'csinodes.storage.k8s.io "%s" not found' % node.group(1)))
            else:
                self.reply(200, found)
            return
        claim = CLAIM_PATH.match(self.path)
        if claim:
            self.reply(404, status_body(404, "NotFound",
                                        'persistentvolumeclaims "%s" not found' % claim.group(2)))
            return
        volume = VOLUME_PATH.match(self.path)
        if volume:
            self.reply(404, status_body(404, "NotFound",
                                        'persistentvolumes "%s" not found' % volume.group(1)))
            return
        if VOLUME_ATTACHMENTS_PATH.match(self.path):
            self.reply(200, {"kind": "VolumeAttachmentList", "apiVersion": "storage.k8s.io/v1",
                             "metadata": {"resourceVersion": "1"}, "items": []})
            return
        self.reply(503, status_body(503, "ServiceUnavailable",
                                    "this stand-in for the Kubernetes API only records Events"))

    def read_json(self):
        """The request's JSON body, or None after answering 400."""
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY_BYTES:
            self.reply(400, status_body(400, "BadRequest", "missing or oversized body"))
            return None
        try:
            return json.loads(self.rfile.read(length))
        except ValueError as error:
            self.reply(400, status_body(400, "BadRequest", "body is not JSON: %s" % error))
            return None

    def do_POST(self):  # noqa: N802
        if not self.authorized():
            return
        if CSI_NODES_PATH.match(self.path):
            csi_node = self.read_json()
            if csi_node is None:
                return
            name = csi_node.get("metadata", {}).get("name", "")
            if csi_node.get("kind") != "CSINode" or not CSI_NODE_PATH.match(
                    "/apis/storage.k8s.io/v1/csinodes/" + name):
                self.reply(400, status_body(400, "BadRequest", "not a CSINode with a valid name"))
                return
            with self.lock:
                self.csi_nodes[name] = csi_node
            self.reply(201, csi_node)
            return
        match = EVENTS_PATH.match(self.path)
        if not match:
            self.reply(503, status_body(503, "ServiceUnavailable",
                                        "this stand-in for the Kubernetes API only records Events"))
            return
        event = self.read_json()
        if event is None:
            return
        if event.get("kind") != "Event" or event.get("metadata", {}).get("namespace") != match.group(1):
            self.reply(400, status_body(400, "BadRequest",
                                        "not an Event of namespace %s" % match.group(1)))
            return
        metadata = event.setdefault("metadata", {})
        metadata["name"] = metadata.get("generateName", "event.") + uuid.uuid4().hex[:5]
        with self.lock, open(self.events_file, "a", encoding="utf-8") as out:
            out.write(json.dumps(event) + "\n")
        self.reply(201, event)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: kube_event_sink.py TOKEN_FILE EVENTS_FILE")
    with open(sys.argv[1], encoding="utf-8") as token_file:
        EventSinkHandler.token = token_file.readline().strip()
    if not EventSinkHandler.token:
        sys.exit("kube_event_sink.py: %s holds no token" % sys.argv[1])
    EventSinkHandler.events_file = sys.argv[2]
    open(EventSinkHandler.events_file, "a", encoding="utf-8").close()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EventSinkHandler)
    server.daemon_threads = True

    def stop(_signal, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("kube-event-sink listening on 127.0.0.1:%d" % server.server_address[1], flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()


if __name__ == "__main__":
    main()
