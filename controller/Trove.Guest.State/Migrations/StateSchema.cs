namespace Trove.Guest.State.Migrations;

/// <summary>
/// The controller's schema, as its migrations in order. A released migration never changes (the database records its
/// checksum); a change to the schema is a new migration at the end of the list.
/// </summary>
public static class StateSchema
{
    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new(1, "initial schema", """
            CREATE TABLE projects (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL
            );
            CREATE TABLE users (
                id TEXT PRIMARY KEY,
                project_id TEXT NOT NULL REFERENCES projects (id),
                name TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                password_salt TEXT NOT NULL,
                created_at BIGINT NOT NULL
            );
            CREATE TABLE tokens (
                token_hash TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users (id),
                project_id TEXT NOT NULL REFERENCES projects (id),
                expires_at BIGINT NOT NULL
            );
            CREATE INDEX tokens_expiry ON tokens (expires_at);
            CREATE TABLE datastores (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                default_version_id TEXT
            );
            CREATE TABLE datastore_versions (
                id TEXT PRIMARY KEY,
                datastore_id TEXT NOT NULL REFERENCES datastores (id),
                name TEXT NOT NULL,
                version TEXT NOT NULL,
                manager TEXT NOT NULL,
                image_id TEXT,
                image_tags TEXT,
                active INTEGER NOT NULL,
                UNIQUE (datastore_id, name)
            );
            CREATE TABLE flavors (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                ram_mb INTEGER NOT NULL,
                vcpus INTEGER NOT NULL,
                disk_gb INTEGER NOT NULL
            );
            CREATE TABLE configurations (
                id TEXT PRIMARY KEY,
                project_id TEXT NOT NULL REFERENCES projects (id),
                name TEXT NOT NULL,
                description TEXT,
                datastore_version_id TEXT NOT NULL REFERENCES datastore_versions (id),
                values_json TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                deleted_at BIGINT
            );
            CREATE TABLE instances (
                id TEXT PRIMARY KEY,
                project_id TEXT NOT NULL REFERENCES projects (id),
                name TEXT NOT NULL,
                flavor_id TEXT NOT NULL REFERENCES flavors (id),
                volume_size_gb INTEGER NOT NULL,
                datastore_version_id TEXT NOT NULL REFERENCES datastore_versions (id),
                configuration_id TEXT REFERENCES configurations (id),
                replica_of TEXT REFERENCES instances (id),
                status TEXT NOT NULL,
                task_status TEXT NOT NULL,
                compute_id TEXT,
                last_heartbeat_at BIGINT,
                last_heartbeat_sent BIGINT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                deleted_at BIGINT
            );
            CREATE INDEX instances_by_project ON instances (project_id, deleted_at);
            CREATE TABLE tasks (
                id TEXT PRIMARY KEY,
                instance_id TEXT REFERENCES instances (id),
                kind TEXT NOT NULL,
                state TEXT NOT NULL,
                step TEXT NOT NULL,
                payload_json TEXT NOT NULL,
                error TEXT,
                started_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            );
            CREATE INDEX tasks_unfinished ON tasks (state);
            CREATE TABLE backups (
                id TEXT PRIMARY KEY,
                project_id TEXT NOT NULL REFERENCES projects (id),
                instance_id TEXT REFERENCES instances (id),
                parent_id TEXT REFERENCES backups (id),
                name TEXT NOT NULL,
                description TEXT,
                state TEXT NOT NULL,
                location TEXT,
                checksum TEXT,
                size_bytes BIGINT,
                datastore_version_id TEXT NOT NULL REFERENCES datastore_versions (id),
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                deleted_at BIGINT
            );
            CREATE INDEX backups_by_project ON backups (project_id, deleted_at);
            """),
        // What the conductor, the task worker and the compute drivers record (Trove keeps these in service statuses,
        // instance faults, root history and its conductor's last-seen table).
        new(2, "guest reports, compute and tasks", """
            ALTER TABLE instances ADD COLUMN fault TEXT;
            ALTER TABLE instances ADD COLUMN root_enabled_at BIGINT;
            ALTER TABLE instances ADD COLUMN compute_json TEXT;
            ALTER TABLE instances ADD COLUMN rpc_key TEXT;
            ALTER TABLE instances ADD COLUMN last_backup_report_sent BIGINT;
            ALTER TABLE backups ADD COLUMN backup_type TEXT;
            ALTER TABLE backups ADD COLUMN size_gb DOUBLE PRECISION;
            ALTER TABLE backups ADD COLUMN note TEXT;
            CREATE TABLE guest_notifications (
                id TEXT PRIMARY KEY,
                request_id TEXT NOT NULL,
                instance_id TEXT,
                method TEXT NOT NULL,
                message TEXT,
                received_at BIGINT NOT NULL
            );
            CREATE INDEX guest_notifications_by_request ON guest_notifications (request_id);
            """),
        // Task workers may run apart from the API, several at once: a worker claims a task with a lease it renews, and
        // another worker takes over a task whose lease ran out (its worker died or the controller restarted).
        new(3, "task leases", """
            ALTER TABLE tasks ADD COLUMN owner TEXT;
            ALTER TABLE tasks ADD COLUMN lease_until BIGINT;
            """),
    ];
}
