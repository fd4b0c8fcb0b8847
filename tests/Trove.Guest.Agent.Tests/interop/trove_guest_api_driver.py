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

    from trove_taskmanager import connect, Steps
    API, ctx = connect(a.url, a.key)
    api = API(ctx, a.guest_id)
    step = Steps()

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
    return 1 if step.failed else 0


if __name__ == '__main__':
    rc = main()
    sys.stdout.flush()
    os._exit(rc)
