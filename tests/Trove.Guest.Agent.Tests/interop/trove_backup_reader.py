#!/usr/bin/python3
"""Reads and deletes one of our backups with python3-trove's own code (test harness).

  trove_backup_reader.py --token T --location URL
Runs trove.common.swift.get_metadata (what Trove's guest and taskmanager read back: lsn, parent_location, ...) and
then trove.taskmanager.models.BackupTasks.delete_files_from_swift (how Trove deletes a backup: a static large object
with multipart-manifest=delete, a single object plainly). python-swiftclient is not installed here, so the Swift
client they are given is a small urllib adapter with swiftclient's method signatures; Trove's logic is unchanged.
Prints one JSON object: {"metadata": {...}, "remaining": [names under the backup's prefix after the delete]}.
"""
import argparse
import json
import sys
import urllib.error
import urllib.request


class SwiftAdapter:
    """swiftclient.Connection's head_object / delete_object / get_container, over urllib."""

    def __init__(self, storage_url, token):
        self.url, self.token = storage_url.rstrip('/'), token

    def _request(self, method, path, query=None):
        url = f'{self.url}/{path}' + (f'?{query}' if query else '')
        req = urllib.request.Request(url, method=method, headers={'X-Auth-Token': self.token})
        with urllib.request.urlopen(req) as r:
            return {k.lower(): v for k, v in r.headers.items()}, r.read()

    def head_object(self, container, obj):
        return self._request('HEAD', f'{container}/{obj}')[0]

    def delete_object(self, container, obj, query_string=None):
        self._request('DELETE', f'{container}/{obj}', query_string)

    def get_container(self, container, prefix):
        try:
            return json.loads(self._request('GET', container, f'format=json&prefix={prefix}')[1])
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return []
            raise


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--token', required=True)
    p.add_argument('--location', required=True)
    a = p.parse_args()

    from trove.common import cfg
    cfg.CONF([], project='trove', default_config_files=[])
    from trove.common import swift as trove_swift
    from trove.common import clients
    from trove.taskmanager import models as tm

    storage_url, container, name = trove_swift.parse_location(a.location)
    client = SwiftAdapter(storage_url, a.token)
    metadata = trove_swift.get_metadata(client, a.location)
    clients.create_swift_client = lambda context: client
    tm.BackupTasks.delete_files_from_swift(None, container, name)
    prefix = name.split('.')[0]
    remaining = [o['name'] for o in client.get_container(container, prefix)]
    print(json.dumps({'metadata': metadata, 'remaining': remaining}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
