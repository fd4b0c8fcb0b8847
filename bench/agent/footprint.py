#!/usr/bin/python3
"""Agent footprint benchmark: start-to-READY and idle RSS of our AOT agent, next to python3-trove's guest agent.

Usage: footprint.py AGENT_BINARY RABBIT_URL [RUNS]
Ours: the agent is started with NOTIFY_SOCKET pointing at a socket of ours, as systemd does for Type=notify; the time
from exec to the READY=1 datagram is start-to-READY (READY is sent once the agent consumes from its topic). Idle RSS is
VmRSS 3 s after READY. Then SIGTERM, and STOPPING=1 and exit are checked.
Reference: the same process measures `import trove.cmd.guest` plus the MySQL and MariaDB managers (python3-trove's guest
agent before it even connects) in a fresh interpreter: wall time and max RSS.
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


def run_ours(i):
    d = tempfile.mkdtemp(prefix='tgfp-')
    conf = os.path.join(d, 'conf.d')
    os.makedirs(conf)
    with open(os.path.join(conf, 'guest_info.conf'), 'w') as f:
        f.write(f'[DEFAULT]\nguest_id = footprint-{os.getpid()}-{i}\ndatastore_manager = mariadb\n')
    with open(os.path.join(conf, 'trove-guestagent.conf'), 'w') as f:
        f.write(f'[DEFAULT]\ntransport_url = {url}\ncontrol_exchange = trove\n'
                f'[mariadb]\nmount_point = {d}/mnt\n[trove_guest]\nengine_supervisor = process\n'
                f'engine_socket = {d}/m.sock\nstate_dir = {d}/state\nengine_config_dir = {d}/etc\n')
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
    p.terminate()
    stopping = s.recv(4096).decode()
    rc = p.wait(30)
    s.close()
    subprocess.run(['rm', '-rf', d])
    return {'peer': 'trove-guest-agent (AOT)', 'start_to_ready_s': round(ready, 3), 'idle_rss_mb': round(rss / 1024, 1),
            'stopping': 'STOPPING=1' in stopping, 'exit_code': rc}


def run_python():
    code = ('import time, resource; t = time.monotonic()\n'
            'import trove.cmd.guest, trove.guestagent.datastore.mysql.manager, trove.guestagent.datastore.mariadb.manager\n'
            'print(time.monotonic() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)')
    t0 = time.monotonic()
    out = subprocess.run(['/usr/bin/python3', '-c', code], capture_output=True, text=True, check=True).stdout.split()
    return {'peer': 'python3-trove guest agent (imports only)', 'process_to_imported_s': round(time.monotonic() - t0, 3),
            'rss_mb': round(int(out[1]) / 1024, 1)}


ours = [run_ours(i) for i in range(runs)]
ref = [run_python() for _ in range(runs)]
for r in ours + ref:
    print(json.dumps(r))
med = statistics.median
summary = {
    'summary': 'agent footprint', 'runs': runs,
    'ours_start_to_ready_s': med(r['start_to_ready_s'] for r in ours), 'ours_idle_rss_mb': med(r['idle_rss_mb'] for r in ours),
    'python_import_s': med(r['process_to_imported_s'] for r in ref), 'python_rss_mb': med(r['rss_mb'] for r in ref),
    'loadavg': open('/proc/loadavg').read().split()[:3],
}
summary['rss_ratio'] = round(summary['python_rss_mb'] / summary['ours_idle_rss_mb'], 1)
summary['start_ratio'] = round(summary['python_import_s'] / summary['ours_start_to_ready_s'], 1)
print(json.dumps(summary))
