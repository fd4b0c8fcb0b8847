#!/usr/bin/python3
"""Drives replication between two guest agents through python3-trove's own guest API client (test harness).

  trove_replication_driver.py --url U --source ID --replica ID --phase snapshot|replica|promote
      [--snapshot-id B] [--mount-point DIR] [--source-config F] [--replica-config F] [--backup-info JSON] [--snapshot JSON]

snapshot: the source's backup_required_for_replication and get_replication_snapshot (the snapshot is the result).
replica:  the replica's prepare with the snapshot's backup_info and the snapshot (a cast; the test waits for it).
promote:  Trove's promote-to-replica-source sequence (guest-contract 7.3) with the replica as candidate, then
          get_last_txn on the old source, now a replica.
Prints one JSON line per step (see trove_taskmanager.Steps); exit 1 if any step failed.
"""
import argparse
import json
import os
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--url', required=True)
    p.add_argument('--source', required=True)
    p.add_argument('--replica', required=True)
    p.add_argument('--phase', required=True, choices=['snapshot', 'replica', 'promote'])
    p.add_argument('--snapshot-id')
    p.add_argument('--mount-point')
    p.add_argument('--source-config')
    p.add_argument('--replica-config')
    p.add_argument('--backup-info')
    p.add_argument('--snapshot')
    a = p.parse_args()

    from trove_taskmanager import connect, Steps
    API, ctx = connect(a.url)
    source, replica = API(ctx, a.source), API(ctx, a.replica)
    step = Steps()
    source_config = open(a.source_config).read() if a.source_config else None
    replica_config = open(a.replica_config).read() if a.replica_config else None

    if a.phase == 'snapshot':
        step('backup_required_for_replication', source.backup_required_for_replication)
        info = {'id': a.snapshot_id, 'name': 'snapshot', 'description': None, 'instance_id': a.source,
                'parent_id': None, 'tenant_id': 'p1', 'state': 'NEW', 'datastore_version_id': None,
                'deleted': False, 'replica_number': 1, 'datastore': 'mariadb', 'datastore_version': '10.11'}
        step('get_replication_snapshot', lambda: source.get_replication_snapshot(info, source_config))
    elif a.phase == 'replica':
        step('prepare', lambda: replica.prepare(512, '', [], [], device_path=None, mount_point=a.mount_point,
                                                backup_info=json.loads(a.backup_info), config_contents=None,
                                                snapshot=json.loads(a.snapshot), ds_version='10.11'))
    else:
        step('make_read_only', lambda: source.make_read_only(True))
        txn = step('get_latest_txn_id', source.get_latest_txn_id)
        step('wait_for_txn', lambda: replica.wait_for_txn(txn))
        step('detach_replica', lambda: replica.detach_replica(for_failover=True))
        step('enable_as_master', lambda: replica.enable_as_master(source_config))
        step('make_read_only_false', lambda: replica.make_read_only(False))
        context = step('get_replica_context', replica.get_replica_context)
        step('attach_replica', lambda: source.attach_replica(context, replica_config, restart=False))
        step('demote_replication_master', source.demote_replication_master)
        step('get_last_txn', source.get_last_txn)
    return 1 if step.failed else 0


if __name__ == '__main__':
    rc = main()
    sys.stdout.flush()
    os._exit(rc)
