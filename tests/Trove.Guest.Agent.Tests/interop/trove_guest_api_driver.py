#!/usr/bin/python3
"""Drives a guest agent through python3-trove's own guest API client, trove.guestagent.api.API (test harness).

  trove_guest_api_driver.py --url U --guest-id G [--key K] --config-contents-file F
It configures trove.rpc as trove-taskmanager does (control_exchange trove; the instance key, when given, is what
get_instance_encryption_key returns), then runs: prepare (cast; waits until the guest answers list_databases),
rpc_ping, create_database, list_databases, create_user, list_users, grant_access, list_access, enable_root,
is_root_enabled, get_volume_info (get_filesystem_stats), restart. Prints one JSON line per step:
  {"step": name, "result": ...}  or  {"step": name, "error": "..."}; exit 1 if any step failed.
"""
import argparse
import json
import os
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--url', required=True)
    p.add_argument('--guest-id', required=True)
    p.add_argument('--key', default=None)
    p.add_argument('--config-contents-file', required=True)
    a = p.parse_args()

    from trove.common import cfg
    import oslo_messaging as messaging
    CONF = cfg.CONF
    CONF([], project='trove', default_config_files=[])
    from oslo_messaging import transport as oslo_transport
    CONF.register_opts(oslo_transport._transport_opts)  # registered lazily by oslo; we set it before rpc.init
    CONF.set_override('transport_url', a.url)
    CONF.set_override('metrics_thread_stop_timeout', 0, group='oslo_messaging_metrics')
    CONF.set_override('agent_call_high_timeout', 120)
    messaging.set_transport_defaults('trove')
    from trove import rpc
    rpc.init(CONF)
    import trove.instance.models as models
    # What the taskmanager reads from its database: the instance's key (prepare's queue creation reads DBInstance).
    models.get_instance_encryption_key = lambda instance_id: a.key
    models.DBInstance.get_by = classmethod(lambda cls, **kwargs: type('Instance', (), {'key': a.key})())
    from trove.common.context import TroveContext
    from trove.guestagent.api import API

    ctx = TroveContext(user='admin', project_id='p1', request_id='req-driver-1', is_admin=True)
    api = API(ctx, a.guest_id)
    failed = False

    def step(name, fn):
        nonlocal failed
        try:
            print(json.dumps({'step': name, 'result': fn()}), flush=True)
        except Exception as e:  # report and go on: the test asserts on each line
            failed = True
            print(json.dumps({'step': name, 'error': '%s: %s' % (type(e).__name__, e)}), flush=True)

    config = open(a.config_contents_file).read()

    def prepare():
        api.prepare(memory_mb=512, packages='', databases=[], users=[], device_path=None,
                    mount_point='/var/lib/mysql', config_contents=config, ds_version='10.11')
        deadline = time.time() + 150
        while True:
            try:
                api.list_databases()
                return 'prepared'
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)

    step('prepare', prepare)
    step('rpc_ping', lambda: api.rpc_ping())
    step('create_database', lambda: api.create_database([{'_name': 'py_db', '_character_set': None, '_collate': None}]))

    def names_once_present(listing, name):
        """Polls a paged listing (create_* are casts) until `name` shows up, or 20 s pass; returns the names."""
        deadline = time.time() + 20
        while True:
            items, marker = listing()
            names = [i['_name'] for i in items]
            if name in names or time.time() > deadline:
                return names
            time.sleep(0.2)

    step('list_databases', lambda: names_once_present(api.list_databases, 'py_db'))
    step('create_user', lambda: api.create_user([{'_name': 'py_user', '_password': 'Py-Pass-1', '_host': '%',
                                                  '_databases': [], '_is_root': False}]))

    step('list_users', lambda: names_once_present(api.list_users, 'py_user'))
    step('grant_access', lambda: api.grant_access('py_user', '%', ['py_db']))
    step('list_access', lambda: [d['_name'] for d in api.list_access('py_user', '%')])
    step('enable_root', lambda: sorted(api.enable_root().keys()))
    step('is_root_enabled', lambda: api.is_root_enabled())
    step('get_volume_info', lambda: sorted(api.get_volume_info().keys()))
    step('restart', lambda: api.restart())
    step('rpc_ping_after_restart', lambda: api.rpc_ping())
    return 1 if failed else 0


if __name__ == '__main__':
    rc = main()
    sys.stdout.flush()
    os._exit(rc)
