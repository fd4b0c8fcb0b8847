#!/usr/bin/python3
"""Agent footprint benchmark: start-to-READY and idle RSS of our AOT agent, next to python3-trove's guest agent.

Usage: footprint.py AGENT_BINARY RABBIT_URL [RUNS]
Ours: the agent is started with NOTIFY_SOCKET pointing at a socket of ours, as systemd does for Type=notify; the time
from exec to the READY=1 datagram is start-to-READY (READY is sent once the agent consumes from its topic). Idle RSS is
VmRSS 3 s after READY, and again 9 s later (two more heartbeats): the working set the idle loop keeps. The agent pages
out its start-up-only code once READY (trim_startup_memory); a few runs with that off show what it saves. Then SIGTERM, and STOPPING=1 and exit are checked.
Reference: the same process measures `import trove.cmd.guest` plus the MySQL and MariaDB managers (python3-trove's guest
agent before it even connects) in a fresh interpreter: wall time and max RSS.
Prepare: one more agent is started and sent `prepare` (a cast, as the taskmanager sends it) by a real oslo.messaging
client; the wall time runs from the cast to the first successful `list_databases` call (a fresh MariaDB datadir:
install-db, start, secure). The Python agent's prepare cannot run here (it needs Docker), so there is no reference.
Prints one JSON line per run and a summary line with medians and ratios.
"""
import json, os, socket, statistics, subprocess, sys, tempfile, time

agent, url = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5


def rss_kb(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])


def start_agent(d, guest_id, extra=''):
    conf = os.path.join(d, 'conf.d')
    os.makedirs(conf)
    with open(os.path.join(conf, 'guest_info.conf'), 'w') as f:
        f.write(f'[DEFAULT]\nguest_id = {guest_id}\ndatastore_manager = mariadb\n')
    with open(os.path.join(conf, 'trove-guestagent.conf'), 'w') as f:
        f.write(f'[DEFAULT]\ntransport_url = {url}\ncontrol_exchange = trove\nreport_interval = 5\n'
                f'[mariadb]\nmount_point = {d}/mnt\n[trove_guest]\nengine_supervisor = process\n'
                f'engine_socket = {d}/m.sock\nstate_dir = {d}/state\nengine_config_dir = {d}/etc\n{extra}')
    return conf


def prepare_wall_time():
    from oslo_config import cfg
    import oslo_messaging as messaging
    conf = cfg.CONF  # oslo.messaging registers some options only there
    conf([], project='footprint')
    conf.set_override('metrics_thread_stop_timeout', 0, group='oslo_messaging_metrics')
    messaging.set_transport_defaults('trove')
    transport = messaging.get_rpc_transport(conf, url=url)
    d = tempfile.mkdtemp(prefix='tgpp-')
    guest = f'prepare-{os.getpid()}'
    s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()
    conf_dir = start_agent(d, guest, f'engine_user = root\nengine_port = {port}\nengine_bind_address = 127.0.0.1\n')
    p = subprocess.Popen([agent, '--config-dir', conf_dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = messaging.get_rpc_client(transport, messaging.Target(topic=f'guestagent.{guest}', version='1.1'), timeout=5)
        deadline = time.monotonic() + 30
        while True:  # the agent is up when it answers
            try:
                client.call({}, 'rpc_ping')
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        config = '[mysqld]\ninnodb_buffer_pool_size = 64M\ninnodb_log_file_size = 16M\nperformance_schema = OFF\n'
        t0 = time.monotonic()
        client.cast({}, 'prepare', packages=[], databases=[{'_name': 'db1', '_character_set': None, '_collate': None}],
                    memory_mb=512, users=[], device_path=None, mount_point=f'{d}/mnt', backup_info=None,
                    config_contents=config, root_password=None, overrides=None, cluster_config=None, snapshot=None,
                    modules=None, ds_version='10.11')
        while True:
            try:
                names = [db['_name'] for db in client.call({}, 'list_databases', limit=None, marker=None, include_marker=False)[0]]
                if 'db1' in names:
                    break
            except Exception:
                pass
            if time.monotonic() - t0 > 120:
                raise RuntimeError('prepare did not finish in 120 s')
            time.sleep(0.02)
        wall = time.monotonic() - t0
        time.sleep(10)  # idle with a running MariaDB: heartbeats now ping it over MySqlConnector
        prepared_rss = rss_kb(p.pid)
    finally:
        p.terminate()
        p.wait(30)
        subprocess.run(['rm', '-rf', d])
    return {'peer': 'trove-guest-agent (AOT)', 'prepare_wall_s': round(wall, 3), 'prepared_idle_rss_mb': round(prepared_rss / 1024, 1)}


def run_ours(i, trim=True):
    d = tempfile.mkdtemp(prefix='tgfp-')
    conf = start_agent(d, f'footprint-{os.getpid()}-{i}', f'trim_startup_memory = {str(trim).lower()}\n')
    sock_path = os.path.join(d, 'notify.sock')
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    s.settimeout(30)
    env = dict(os.environ, NOTIFY_SOCKET=sock_path)
    t0 = time.monotonic()
    p = subprocess.Popen([agent, '--config-dir', conf], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    msg = s.recv(4096).decode()
    ready = time.monotonic() - t0
    assert 'READY=1' in msg, msg
    time.sleep(3)
    rss = rss_kb(p.pid)
    time.sleep(9)  # two more heartbeats (report_interval = 5): the working set the idle loop keeps
    rss_later = rss_kb(p.pid)
    p.terminate()
    stopping = s.recv(4096).decode()
    rc = p.wait(30)
    s.close()
    subprocess.run(['rm', '-rf', d])
    return {'peer': 'trove-guest-agent (AOT)', 'trim_startup_memory': trim, 'start_to_ready_s': round(ready, 3),
            'idle_rss_mb': round(rss / 1024, 1), 'idle_rss_after_12s_mb': round(rss_later / 1024, 1), 'stopping': 'STOPPING=1' in stopping, 'exit_code': rc}


def run_python():
    code = ('import time, resource; t = time.monotonic()\n'
            'import trove.cmd.guest, trove.guestagent.datastore.mysql.manager, trove.guestagent.datastore.mariadb.manager\n'
            'print(time.monotonic() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)')
    t0 = time.monotonic()
    out = subprocess.run(['/usr/bin/python3', '-c', code], capture_output=True, text=True, check=True).stdout.split()
    return {'peer': 'python3-trove guest agent (imports only)', 'process_to_imported_s': round(time.monotonic() - t0, 3),
            'rss_mb': round(int(out[1]) / 1024, 1)}


ours = [run_ours(i) for i in range(runs)]
untrimmed = [run_ours(runs + i, trim=False) for i in range(min(runs, 3))]
ref = [run_python() for _ in range(runs)]
prep = [prepare_wall_time() for _ in range(min(runs, 3))]
for r in ours + untrimmed + ref + prep:
    print(json.dumps(r))
med = statistics.median
summary = {
    'summary': 'agent footprint', 'runs': runs,
    'ours_start_to_ready_s': med(r['start_to_ready_s'] for r in ours), 'ours_idle_rss_mb': med(r['idle_rss_mb'] for r in ours),
    'ours_idle_rss_after_12s_mb': med(r['idle_rss_after_12s_mb'] for r in ours),
    'ours_idle_rss_untrimmed_mb': med(r['idle_rss_mb'] for r in untrimmed),
    'python_import_s': med(r['process_to_imported_s'] for r in ref), 'python_rss_mb': med(r['rss_mb'] for r in ref),
    'ours_prepare_wall_s': round(med(r['prepare_wall_s'] for r in prep), 3),
    'ours_prepared_idle_rss_mb': med(r['prepared_idle_rss_mb'] for r in prep),
    'loadavg': open('/proc/loadavg').read().split()[:3],
}
summary['rss_ratio'] = round(summary['python_rss_mb'] / summary['ours_idle_rss_mb'], 1)
summary['start_ratio'] = round(summary['python_import_s'] / summary['ours_start_to_ready_s'], 1)
print(json.dumps(summary))
sys.stdout.flush()
os._exit(0)  # oslo's transport threads would keep the process alive
