#!/usr/bin/env bash
# The floor of a create on this machine: what the process driver and the agent must do at the least, with the same
# tools and no control plane, agent or RPC: a sparse 1 GB file on a loop device, ext4 (-m 5, as the agent formats),
# mounted noatime, mariadb-install-db (the agent's arguments), mariadbd started until root's first query answers.
# Usage: floor.sh DIR PORT    (DIR: an empty directory, removed at the end)
# Prints "step ms" lines, then "total ms"; everything it made is taken down on exit (not timed).
set -euo pipefail
dir=$1 port=$2
dev="" pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  mountpoint -q "$dir/mnt" 2>/dev/null && umount "$dir/mnt"
  [ -n "$dev" ] && losetup --detach "$dev"
  rm -rf "$dir"
}
trap cleanup EXIT
now() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
step() { local t; t=$(now); echo "$1 $((t - last))"; last=$t; }

chmod 755 "$dir"
start=$(now) last=$start
truncate -s 1G "$dir/volume"
dev=$(losetup --find --show "$dir/volume")
step "volume(truncate+losetup)"
mkfs -t ext4 -m 5 -F -q "$dev"
step "mkfs.ext4"
mkdir "$dir/mnt"
mount -o defaults,noatime "$dev" "$dir/mnt"
mkdir "$dir/mnt/data" "$dir/mnt/run"
chown mysql: "$dir/mnt/data" "$dir/mnt/run"
step "mount"
mariadb-install-db --no-defaults --datadir="$dir/mnt/data" --user=mysql --auth-root-authentication-method=socket --skip-test-db \
  --skip-name-resolve >"$dir/install.log" 2>&1
step "mariadb-install-db"
mariadbd --no-defaults --datadir="$dir/mnt/data" --user=mysql --socket="$dir/mnt/run/mysqld.sock" --port="$port" --bind-address=127.0.0.1 \
  --pid-file="$dir/mnt/run/mysqld.pid" --log-error="$dir/mnt/run/mariadbd.err" &
pid=$!
until mariadb --no-defaults --protocol=socket --socket="$dir/mnt/run/mysqld.sock" --user=root -e 'SELECT 1' >/dev/null 2>&1; do
  kill -0 "$pid" 2>/dev/null || { echo "mariadbd exited:" >&2; cat "$dir/mnt/run/mariadbd.err" >&2; exit 1; }
  sleep 0.02
done
step "mariadbd start to first query"
echo "total $(( $(now) - start ))"
