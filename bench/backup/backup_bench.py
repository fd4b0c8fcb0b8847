#!/usr/bin/python3
"""Backup benchmark driver (bench/backup.sh starts RabbitMQ and Swift, then runs this).

Usage: backup_bench.py AGENT_BINARY RABBIT_URL SWIFT_PORT DATA_GB
1. Our AOT agent is started (engine supervised as a child, conductor = a real oslo.messaging server in this process),
   prepared over RPC, and filled with DATA_GB of InnoDB rows (random hex text: compresses about 2x, like sysbench).
2. Same data, one after the other, all measured in this run:
   read limit   mariabackup --backup --stream=xbstream --parallel=2 > /dev/null
   zstd limit   mariabackup ... | zstd -1 -T2 > file   (what the compressor allows on this machine)
   trove        mariabackup ... | gzip -6 > /dev/null   (Trove's pipeline; writing to /dev/null instead of Swift
                favours it)
   ours-local   create_backup cast -> update_backup COMPLETED, local store, zstd -1 (the agent's defaults)
   ours-swift   the same into the real Swift on loopback (Trove's layout, one 2 GiB segment max)
3. Restore: the raw xbstream extracted by `mbstream -x` alone (the restore limit), and ours: a fresh agent prepared
   with backup_info (fetch, zstd -d, mbstream -x, mariabackup --prepare, start); its log gives the extraction time.
The datadir stays in the page cache between runs (no root-only cache eviction here): every run reads the same warm
data, so the ratios compare like with like. Prints one JSON line per measurement and a summary line.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

agent_bin, url, swift_port, gb = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])

from oslo_config import cfg  # noqa: E402
import oslo_messaging as messaging  # noqa: E402

CONF = cfg.CONF
CONF([], project='backup-bench')
CONF.set_override('metrics_thread_stop_timeout', 0, group='oslo_messaging_metrics')
messaging.set_transport_defaults('trove')
transport = messaging.get_rpc_transport(CONF, url=url)
updates = {}
lock = threading.Lock()


class Conductor:
    target = messaging.Target(version='1.0')

    def update_backup(self, ctxt, instance_id, backup_id, sent, **kwargs):
        with lock:
            updates.setdefault(backup_id, []).append(kwargs)

    def heartbeat(self, ctxt, instance_id, payload, sent=None):
        pass

    def report_root(self, ctxt, instance_id, user=None):
        pass

    def notify_end(self, ctxt, **kwargs):
        pass

    def notify_exc_info(self, ctxt, **kwargs):
        pass


conductor_topic = f'trove-conductor-bench-{os.getpid()}'
server = messaging.get_rpc_server(transport, messaging.Target(topic=conductor_topic, server='bench'), [Conductor()],
                                  executor='threading')
server.start()


def swift_auth():
    import urllib.request
    req = urllib.request.Request(f'http://127.0.0.1:{swift_port}/auth/v1.0',
                                 headers={'X-Auth-User': 'test:tester', 'X-Auth-Key': 'testing'})
    with urllib.request.urlopen(req) as r:
        return r.headers['X-Auth-Token'], r.headers['X-Storage-Url']


token, storage_url = swift_auth()
context = {'auth_token': token, 'project_id': 'test',
           'service_catalog': [{'type': 'object-store', 'endpoints': [{'publicURL': storage_url}]}]}


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Agent:
    def __init__(self, d, storage):
        self.d, self.guest, self.port = d, f'bench-{os.path.basename(d)}', free_port()
        self.storage = storage
        self.log = os.path.join(d, 'agent.log')
        self.proc = None
        self.client = messaging.get_rpc_client(transport, messaging.Target(topic=f'guestagent.{self.guest}', version='1.1'), timeout=60)

    def start(self, storage=None):
        self.storage = storage or self.storage
        conf = os.path.join(self.d, 'conf.d')
        os.makedirs(conf, exist_ok=True)
        with open(os.path.join(conf, 'agent.conf'), 'w') as f:
            f.write(f'[DEFAULT]\nguest_id = {self.guest}\ndatastore_manager = mariadb\ndatastore_version = 10.11\n'
                    f'transport_url = {url}\ncontrol_exchange = trove\nconductor_queue = {conductor_topic}\n'
                    f'storage_strategy = {self.storage}\nreport_interval = 5\n'
                    f'[mariadb]\nmount_point = {self.d}/mnt\n'
                    f'[trove_guest]\nengine_supervisor = process\nengine_socket = {self.d}/m.sock\nstate_dir = {self.d}/state\n'
                    f'engine_config_dir = {self.d}/etc\nengine_user = root\nengine_port = {self.port}\n'
                    f'engine_bind_address = 127.0.0.1\nbackup_local_dir = {self.d}/store\nbackup_prepare_memory = 1G\n')
        agents.append(self)
        self.proc = subprocess.Popen([agent_bin, '--config-dir', conf], stdout=subprocess.DEVNULL, stderr=open(self.log, 'a'))
        deadline = time.monotonic() + 60
        while True:
            try:
                self.client.prepare(timeout=5).call({}, 'rpc_ping')
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)

    def sql(self, statement):
        return subprocess.run(['mariadb', '--no-defaults', f'--socket={self.d}/m.sock', '--user=root', '--batch',
                               '--skip-column-names'], input=statement, capture_output=True, text=True, check=True).stdout

    def prepare(self, backup_info=None, timeout=1800):
        config = ('[mysqld]\ninnodb_buffer_pool_size = 1G\ninnodb_log_file_size = 256M\nperformance_schema = OFF\n'
                  f'!includedir {self.d}/etc/conf.d/\n')
        t0 = time.monotonic()
        self.client.cast(context, 'prepare', packages=[], databases=[], memory_mb=4096, users=[], device_path=None,
                         mount_point=f'{self.d}/mnt', backup_info=backup_info, config_contents=config, root_password=None,
                         overrides=None, cluster_config=None, snapshot=None, modules=None, ds_version='10.11')
        while time.monotonic() - t0 < timeout:
            try:
                self.client.prepare(timeout=5).call({}, 'list_databases', limit=None, marker=None, include_marker=False)
                return time.monotonic() - t0
            except Exception:
                time.sleep(0.2)
        raise RuntimeError('prepare did not finish; see ' + self.log)

    def backup(self, backup_id, timeout=1800):
        t0 = time.monotonic()
        self.client.cast(context, 'create_backup', backup_info={
            'id': backup_id, 'name': backup_id, 'description': None, 'instance_id': self.guest, 'backup_type': 'full',
            'checksum': None, 'parent': None, 'datastore': 'mariadb', 'datastore_version': '10.11'})
        while time.monotonic() - t0 < timeout:
            with lock:
                final = [u for u in updates.get(backup_id, []) if u.get('state') in ('COMPLETED', 'FAILED')]
            if final:
                if final[0]['state'] != 'COMPLETED':
                    raise RuntimeError(f'backup failed: {final[0]}')
                return time.monotonic() - t0, final[0]
            time.sleep(0.05)
        raise RuntimeError('backup did not finish')


def timed_shell(label, command, stream_bytes=None):
    t0 = time.monotonic()
    subprocess.run(['bash', '-c', 'set -o pipefail; ' + command], check=True)
    wall = time.monotonic() - t0
    r = {'run': label, 'wall_s': round(wall, 2)}
    if stream_bytes:
        r['stream_mb_s'] = round(stream_bytes / 1e6 / wall, 1)
    return r


results = []
agents = []
root = tempfile.mkdtemp(prefix='tgbench-')
try:
    src = Agent(os.path.join(root, 'src'), 'local')
    os.makedirs(src.d)
    src.start()
    src.prepare()
    # DATA_GB of InnoDB: random hex text (about 2x compressible) in 4 tables, doubled up with INSERT ... SELECT.
    t0 = time.monotonic()
    rows_per_table = int(gb * 1e9 / 4 / 330)
    src.sql('CREATE DATABASE bench;')
    for t in range(4):
        src.sql(f'CREATE TABLE bench.t{t} (id BIGINT PRIMARY KEY AUTO_INCREMENT, k INT, c CHAR(120), pad VARCHAR(160)) ENGINE=InnoDB;'
                f"INSERT INTO bench.t{t} (k, c, pad) VALUES (1, REPEAT(MD5(RAND()), 3), CONCAT(MD5(RAND()), MD5(RAND()), MD5(RAND()), MD5(RAND())));")
        while int(src.sql(f'SELECT COUNT(*) FROM bench.t{t};')) < rows_per_table:
            src.sql(f'INSERT INTO bench.t{t} (k, c, pad) SELECT FLOOR(RAND() * 1e6), REPEAT(MD5(RAND()), 3), '
                    f'CONCAT(MD5(RAND()), MD5(RAND()), MD5(RAND()), MD5(RAND())) FROM bench.t{t} LIMIT {rows_per_table};')
    src.sql("SET GLOBAL innodb_max_dirty_pages_pct = 0; SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0;")
    time.sleep(10)
    innodb = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(os.path.join(src.d, 'mnt', 'data', 'bench')) for f in fs)
    results.append({'run': 'load', 'wall_s': round(time.monotonic() - t0, 1), 'innodb_bytes': innodb})

    cnf = os.path.join(src.d, 'mnt', 'conf.d', 'os_admin.cnf')
    tool = (f'mariabackup --defaults-extra-file={cnf} --backup --stream=xbstream --parallel=2 --socket={src.d}/m.sock '
            f'--datadir={src.d}/mnt/data --target-dir={root}/tgt 2>>{root}/tool.log')
    raw = os.path.join(root, 'raw.xbstream')
    subprocess.run(['bash', '-c', f'{tool} > {raw}'], check=True)
    stream_bytes = os.path.getsize(raw)
    results.append({'run': 'xbstream size', 'bytes': stream_bytes})
    results.append(timed_shell('read limit: mariabackup --stream > /dev/null', f'{tool} > /dev/null', stream_bytes))
    results.append(timed_shell("trove: mariabackup | gzip -6 > /dev/null", f'{tool} | gzip -6 > /dev/null', stream_bytes))
    results.append(timed_shell('compression limit: mariabackup | zstd -1 -T2 > file', f'{tool} | zstd -q -1 -T2 > {root}/z.zst', stream_bytes))
    os.remove(f'{root}/z.zst')
    wall, final = src.backup('bench-local')
    results.append({'run': 'ours: create_backup -> local store (zstd -1)', 'wall_s': round(wall, 2),
                    'stream_mb_s': round(stream_bytes / 1e6 / wall, 1), 'stored_bytes_gb': final['size']})
    local_location = final['location']
    local_checksum = final['checksum']
    src.stop()
    src.start('swift')
    wall, final = src.backup('bench-swift')
    results.append({'run': 'ours: create_backup -> Swift (zstd -1)', 'wall_s': round(wall, 2),
                    'stream_mb_s': round(stream_bytes / 1e6 / wall, 1), 'location': final['location']})
    src.stop()

    os.makedirs(os.path.join(root, 'x'))
    results.append(timed_shell('restore limit: mbstream -x < raw', f'mbstream -x -C {root}/x < {raw}', stream_bytes))
    shutil.rmtree(os.path.join(root, 'x'))
    os.remove(raw)
    dst = Agent(os.path.join(root, 'dst'), 'local')
    os.makedirs(dst.d)
    shutil.copytree(os.path.join(src.d, 'store'), os.path.join(dst.d, 'store'))
    local_location = local_location.replace(f'{src.d}/store', f'{dst.d}/store')
    dst.start()
    wall = dst.prepare({'id': 'bench-local', 'instance_id': src.guest, 'location': local_location, 'type': 'full',
                        'checksum': local_checksum})
    extracted = [float(m) for m in re.findall(r'Extracted .*? in ([0-9.]+) s', open(dst.log).read())]
    results.append({'run': 'ours: restore (fetch, zstd -d, mbstream -x)', 'wall_s': extracted[0] if extracted else None,
                    'stream_mb_s': round(stream_bytes / 1e6 / extracted[0], 1) if extracted else None})
    results.append({'run': 'ours: prepare with backup_info (restore + mariabackup --prepare + start)', 'wall_s': round(wall, 2)})
    rows = dst.sql('SELECT COUNT(*) FROM bench.t0;').strip()
    results.append({'run': 'restored rows in bench.t0', 'rows': int(rows)})
    dst.stop()
finally:
    for a in agents:  # the agent stops its database with it
        if a.proc and a.proc.poll() is None:
            a.stop()
    for r in results:
        print(json.dumps(r))
    sys.stdout.flush()
    subprocess.run(['rm', '-rf', root])

by = {r['run']: r for r in results}
limit = by['read limit: mariabackup --stream > /dev/null']['wall_s']
trove = by['trove: mariabackup | gzip -6 > /dev/null']['wall_s']
local = by['ours: create_backup -> local store (zstd -1)']['wall_s']
swift = by['ours: create_backup -> Swift (zstd -1)']['wall_s']
zlimit = by['compression limit: mariabackup | zstd -1 -T2 > file']['wall_s']
rlimit = by['restore limit: mbstream -x < raw']['wall_s']
rours = by['ours: restore (fetch, zstd -d, mbstream -x)']['wall_s']
print(json.dumps({'summary': 'backup', 'innodb_gb': round(by['load']['innodb_bytes'] / 1e9, 2),
                  'backup_local_vs_read_limit': round(limit / local, 2), 'backup_swift_vs_read_limit': round(limit / swift, 2),
                  'backup_local_vs_zstd_limit': round(zlimit / local, 2), 'backup_local_vs_trove': round(trove / local, 1), 'backup_swift_vs_trove': round(trove / swift, 1),
                  'restore_vs_limit': round(rlimit / rours, 2) if rours else None,
                  'loadavg': open('/proc/loadavg').read().split()[:3]}))
sys.stdout.flush()
server.stop()
os._exit(0)
