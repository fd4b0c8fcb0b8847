#!/usr/bin/python3
"""A peer that encrypts and decrypts with python3-trove's own serializer chain (test harness, not product code).

It wires oslo.messaging exactly as trove/rpc.py does:
  SecureSerializer(TroveRequestContextSerializer(JsonPayloadSerializer()), key)
with a TroveContext as the request context.

  server --url U --topic T --server S --key K [--exchange trove]
      endpoint: echo(value) -> value; whoami() -> the decrypted context's user and request_id. Prints READY.
  client --url U --topic T --key K --method M [--args JSON] [--exchange trove] [--timeout S]
      prints the decrypted result as JSON, or {"error": {...}} and exits 1.
"""
import argparse
import json
import os
import signal
import sys
import threading

from oslo_config import cfg
import oslo_messaging as messaging

from trove.common.context import TroveContext
from trove.common.rpc import secure_serializer as ssz
from trove.common.rpc import serializer as sz


def serializer(key):
    return ssz.SecureSerializer(sz.TroveRequestContextSerializer(messaging.JsonPayloadSerializer()), key)


class Endpoint(object):
    target = messaging.Target(version='1.0')

    def echo(self, ctxt, value):
        return value

    def whoami(self, ctxt):
        return {'user': ctxt.user, 'request_id': ctxt.request_id, 'project_id': ctxt.project_id}


def main():
    p = argparse.ArgumentParser()
    p.add_argument('mode', choices=['server', 'client'])
    p.add_argument('--url', required=True)
    p.add_argument('--topic', required=True)
    p.add_argument('--server', default=None)
    p.add_argument('--exchange', default='trove')
    p.add_argument('--key', required=True)
    p.add_argument('--method', default='echo')
    p.add_argument('--args', default='{}')
    p.add_argument('--timeout', type=float, default=20)
    a = p.parse_args()

    conf = cfg.CONF
    conf([], project='trove_secure_peer')
    conf.set_override('metrics_thread_stop_timeout', 0, group='oslo_messaging_metrics')
    messaging.set_transport_defaults(a.exchange)
    transport = messaging.get_rpc_transport(conf, url=a.url)

    if a.mode == 'server':
        target = messaging.Target(topic=a.topic, server=a.server, exchange=a.exchange)
        server = messaging.get_rpc_server(transport, target, [Endpoint()], executor='threading',
                                          serializer=serializer(a.key))
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        server.start()
        print('READY', flush=True)
        while not stop.wait(0.5):
            pass
        server.stop()
        server.wait()
        return 0

    target = messaging.Target(topic=a.topic, server=a.server, exchange=a.exchange, version='1.0')
    client = messaging.get_rpc_client(transport, target, timeout=a.timeout, serializer=serializer(a.key))
    ctxt = TroveContext(user='u1', project_id='p1', request_id='req-secure-1')
    try:
        print(json.dumps(client.call(ctxt, a.method, **json.loads(a.args))), flush=True)
        return 0
    except Exception as exc:
        print(json.dumps({'error': {'class': type(exc).__name__, 'exc_type': getattr(exc, 'exc_type', None),
                                    'message': getattr(exc, 'value', None) or str(exc)}}), flush=True)
        return 1


if __name__ == '__main__':
    sys.stdout.flush()
    os._exit(main())
