/// The deployment database's schema, as the list of steps that build it: step N turns schema
/// N-1 into schema N (step 1 creates schema 1 in an empty database). Both stores apply the same
/// steps in order, each in its own dialect, inside the one transaction that holds the migration
/// lock (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: `pg_advisory_xact_lock`), and then record the
/// schema version reached in `meta`. A database is therefore always exactly "schema N": the one a
/// fresh setup at release N creates and the one an upgrade from any older schema reaches are built
/// by the same statements.
///
/// Adding a schema: append one ``SchemaStep`` with the next version, the release (`MAJOR.MINOR`)
/// that brings it, and its statements for both engines; then raise ``ToolkitRelease/version`` to
/// that release. ``SchemaCatalog`` derives the schema of each release from this list.
enum SchemaSteps {
    /// The product marker in `meta`: a database without it is foreign and never modified.
    static let productMarker = "miis-deployment"

    /// Every step, in order: `all[i].version == i + 1`.
    static let all: [SchemaStep] = [schema1, schema2, schema3, schema4]

    /// The steps that turn schema `from` (0: an empty database) into schema `to`, in order.
    static func steps(from: Int, to: Int) -> ArraySlice<SchemaStep> {
        guard from < to else { return [] }
        return all[max(from, 0)..<min(to, all.count)]
    }

    /// Release 1.0: the registered servers, the deployment row, secrets, check values and the
    /// append-only activation log.
    static let schema1 = SchemaStep(
        version: 1, release: "1.0",
        summary: "servers, the deployment row, secrets, key check values and the append-only activation log",
        sqlite: [
            """
            CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
            INSERT INTO meta (key, value) VALUES ('product', '\(productMarker)'), ('schema_version', '1');
            CREATE TABLE servers (
                name TEXT PRIMARY KEY NOT NULL,
                software_version TEXT NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('primary', 'standby')),
                registered_at REAL NOT NULL,
                last_heartbeat REAL
            );
            CREATE TABLE deployment (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                active_server TEXT NOT NULL,
                epoch INTEGER NOT NULL CHECK (epoch >= 1),
                key_set_id TEXT NOT NULL,
                key_set_fingerprint TEXT NOT NULL,
                password_sync_enabled INTEGER NOT NULL DEFAULT 0,
                password_sync_target TEXT,
                updated_at REAL NOT NULL
            );
            CREATE TABLE secrets (
                name TEXT PRIMARY KEY NOT NULL,
                key_id INTEGER NOT NULL,
                nonce BLOB NOT NULL,
                ciphertext BLOB NOT NULL
            );
            CREATE TABLE key_check_values (
                key_id INTEGER PRIMARY KEY NOT NULL,
                check_value BLOB NOT NULL
            );
            CREATE TABLE activation_log (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                time REAL NOT NULL,
                server TEXT NOT NULL,
                previous_server TEXT,
                epoch INTEGER NOT NULL,
                key_set_id TEXT,
                os_user TEXT NOT NULL,
                outcome TEXT NOT NULL,
                detail TEXT NOT NULL
            );
            CREATE TRIGGER activation_log_no_update BEFORE UPDATE ON activation_log
                BEGIN SELECT RAISE(ABORT, 'the activation log is append-only'); END;
            CREATE TRIGGER activation_log_no_delete BEFORE DELETE ON activation_log
                BEGIN SELECT RAISE(ABORT, 'the activation log is append-only'); END;
            """,
        ],
        postgres: [
            "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)",
            "INSERT INTO meta (key, value) VALUES ('product', '\(productMarker)'), ('schema_version', '1')",
            """
            CREATE TABLE servers (
                name text PRIMARY KEY,
                software_version text NOT NULL,
                role text NOT NULL CHECK (role IN ('primary', 'standby')),
                registered_at timestamptz NOT NULL,
                last_heartbeat timestamptz
            )
            """,
            """
            CREATE TABLE deployment (
                id integer PRIMARY KEY CHECK (id = 1),
                active_server text NOT NULL,
                epoch bigint NOT NULL CHECK (epoch >= 1),
                key_set_id uuid NOT NULL,
                key_set_fingerprint text NOT NULL,
                password_sync_enabled boolean NOT NULL DEFAULT false,
                password_sync_target text,
                updated_at timestamptz NOT NULL
            )
            """,
            """
            CREATE TABLE secrets (
                name text PRIMARY KEY,
                key_id bigint NOT NULL,
                nonce bytea NOT NULL,
                ciphertext bytea NOT NULL
            )
            """,
            """
            CREATE TABLE key_check_values (
                key_id bigint PRIMARY KEY,
                check_value bytea NOT NULL
            )
            """,
            """
            CREATE TABLE activation_log (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                time timestamptz NOT NULL DEFAULT now(),
                server text NOT NULL,
                previous_server text,
                epoch bigint NOT NULL,
                key_set_id uuid,
                os_user text NOT NULL,
                outcome text NOT NULL CHECK (outcome IN ('activated', 'refused', 'failed')),
                detail text NOT NULL
            )
            """,
            """
            CREATE FUNCTION activation_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the activation log is append-only';
            END
            $$
            """,
            """
            CREATE TRIGGER activation_log_no_update_delete BEFORE UPDATE OR DELETE ON activation_log
                FOR EACH ROW EXECUTE FUNCTION activation_log_append_only()
            """,
            """
            CREATE TRIGGER activation_log_no_truncate BEFORE TRUNCATE ON activation_log
                FOR EACH STATEMENT EXECUTE FUNCTION activation_log_append_only()
            """,
        ])

    /// Release 1.1: secrets remember when they were last set (database clock; SQLite stores Unix
    /// seconds as REAL, PostgreSQL a timestamptz).
    static let schema2 = SchemaStep(
        version: 2, release: "1.1",
        summary: "secrets remember when they were last set",
        sqlite: ["ALTER TABLE secrets ADD COLUMN updated_at REAL"],
        postgres: ["ALTER TABLE secrets ADD COLUMN updated_at timestamptz"])

    /// Release 1.2: the lease is a deployment setting; activations are judged (and logged) with it
    /// inside their transaction and remember when they happened apart from other writes;
    /// administrative changes are logged as `changed` rows.
    static let schema3 = SchemaStep(
        version: 3, release: "1.2",
        summary: "the deployment lease, activation times and liveness in the log, logged administrative changes",
        sqlite: [
            """
            ALTER TABLE deployment ADD COLUMN lease_seconds REAL NOT NULL DEFAULT \(DeploymentState.defaultLeaseSeconds);
            ALTER TABLE deployment ADD COLUMN activated_at REAL;
            UPDATE deployment SET activated_at = updated_at;
            ALTER TABLE activation_log ADD COLUMN lease_seconds REAL;
            ALTER TABLE activation_log ADD COLUMN previous_heartbeat_age REAL;
            ALTER TABLE activation_log ADD COLUMN forced INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE activation_log ADD COLUMN forced_reason TEXT;
            """,
        ],
        postgres: [
            "ALTER TABLE deployment ADD COLUMN lease_seconds double precision NOT NULL DEFAULT \(DeploymentState.defaultLeaseSeconds)",
            "ALTER TABLE deployment ADD COLUMN activated_at timestamptz",
            "UPDATE deployment SET activated_at = updated_at",
            "ALTER TABLE activation_log ADD COLUMN lease_seconds double precision",
            "ALTER TABLE activation_log ADD COLUMN previous_heartbeat_age double precision",
            "ALTER TABLE activation_log ADD COLUMN forced boolean NOT NULL DEFAULT false",
            "ALTER TABLE activation_log ADD COLUMN forced_reason text",
            "ALTER TABLE activation_log DROP CONSTRAINT activation_log_outcome_check",
            "ALTER TABLE activation_log ADD CONSTRAINT activation_log_outcome_check CHECK (outcome IN ('activated', 'refused', 'failed', 'changed'))",
        ])

    /// Release 1.3: the key set's life. The deployment row has the key set's generation, each key
    /// its status and primary mark, each secret a needs-re-entry mark (an abandon), and the key set
    /// an append-only history. On an upgraded database the history's first row stands for the set
    /// up of generation 1, which happened before the history existed; on a fresh database the
    /// deployment row is still empty here, so that INSERT adds nothing and setup writes the row.
    static let schema4 = SchemaStep(
        version: 4, release: "1.3",
        summary: "the key set's life: its generation, key status and primary mark, secrets needing re-entry, the key-set history",
        sqlite: [
            """
            ALTER TABLE deployment ADD COLUMN key_set_generation INTEGER NOT NULL DEFAULT 1 CHECK (key_set_generation >= 1);
            ALTER TABLE key_check_values ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired', 'disabled'));
            ALTER TABLE key_check_values ADD COLUMN is_primary INTEGER NOT NULL DEFAULT 0;
            UPDATE key_check_values SET is_primary = 1 WHERE key_id = (SELECT MIN(key_id) FROM key_check_values);
            ALTER TABLE secrets ADD COLUMN needs_reentry INTEGER NOT NULL DEFAULT 0;
            CREATE TABLE key_set_history (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                time REAL NOT NULL,
                generation INTEGER NOT NULL,
                key_set_id TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                server TEXT NOT NULL,
                os_user TEXT NOT NULL,
                reason TEXT NOT NULL CHECK (reason IN ('setup', 'rotate', 'retire', 'disable', 'purge', 'abandon')),
                detail TEXT NOT NULL
            );
            CREATE TRIGGER key_set_history_no_update BEFORE UPDATE ON key_set_history
                BEGIN SELECT RAISE(ABORT, 'the key-set history is append-only'); END;
            CREATE TRIGGER key_set_history_no_delete BEFORE DELETE ON key_set_history
                BEGIN SELECT RAISE(ABORT, 'the key-set history is append-only'); END;
            INSERT INTO key_set_history (time, generation, key_set_id, fingerprint, server, os_user, reason, detail)
                SELECT COALESCE((SELECT MIN(time) FROM activation_log), updated_at), 1, key_set_id, key_set_fingerprint,
                       active_server, '-', 'setup', 'set up before the key set had a history (recorded by the schema 4 migration)'
                FROM deployment;
            """,
        ],
        postgres: [
            "ALTER TABLE deployment ADD COLUMN key_set_generation bigint NOT NULL DEFAULT 1 CHECK (key_set_generation >= 1)",
            "ALTER TABLE key_check_values ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired', 'disabled'))",
            "ALTER TABLE key_check_values ADD COLUMN is_primary boolean NOT NULL DEFAULT false",
            "UPDATE key_check_values SET is_primary = true WHERE key_id = (SELECT min(key_id) FROM key_check_values)",
            "ALTER TABLE secrets ADD COLUMN needs_reentry boolean NOT NULL DEFAULT false",
            """
            CREATE TABLE key_set_history (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                time timestamptz NOT NULL DEFAULT now(),
                generation bigint NOT NULL,
                key_set_id uuid NOT NULL,
                fingerprint text NOT NULL,
                server text NOT NULL,
                os_user text NOT NULL,
                reason text NOT NULL CHECK (reason IN ('setup', 'rotate', 'retire', 'disable', 'purge', 'abandon')),
                detail text NOT NULL
            )
            """,
            """
            CREATE FUNCTION key_set_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the key-set history is append-only';
            END
            $$
            """,
            """
            CREATE TRIGGER key_set_history_no_update_delete BEFORE UPDATE OR DELETE ON key_set_history
                FOR EACH ROW EXECUTE FUNCTION key_set_history_append_only()
            """,
            """
            CREATE TRIGGER key_set_history_no_truncate BEFORE TRUNCATE ON key_set_history
                FOR EACH STATEMENT EXECUTE FUNCTION key_set_history_append_only()
            """,
            """
            INSERT INTO key_set_history (time, generation, key_set_id, fingerprint, server, os_user, reason, detail)
                SELECT coalesce((SELECT min(time) FROM activation_log), updated_at), 1, key_set_id, key_set_fingerprint, active_server, '-',
                       'setup', 'set up before the key set had a history (recorded by the schema 4 migration)'
                FROM deployment
            """,
        ])
}

/// One step of ``SchemaSteps``: what turns schema `version - 1` into schema `version`.
struct SchemaStep: Sendable, Equatable {
    /// The schema this step produces.
    let version: Int
    /// The release (`MAJOR.MINOR`) whose software needs this schema.
    let release: String
    /// What the step adds, in a few words (the upgrade plan and the log say it).
    let summary: String
    /// The statements on SQLite, run in order (one string may hold several statements).
    let sqlite: [String]
    /// The statements on PostgreSQL, one statement per string, run in order.
    let postgres: [String]
}
