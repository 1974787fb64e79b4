/// The PostgreSQL schema of the deployment database, by version, mirroring the SQLite store's
/// (same tables and columns; PostgreSQL types: `timestamptz` for times, `uuid` for key-set IDs,
/// `bytea` for bytes, `bigint` for epochs and key IDs).
///
/// The tables live in the connection's current schema (normally `public`). Creation and every
/// migration run in one transaction that first takes a transaction-scoped advisory lock, so two
/// servers migrating at once are serialized: the second one sees the first one's result.
enum PostgresSchema {
    /// The product marker in `meta` (the same as the SQLite store's): a database without it is foreign.
    static let productMarker = "miis-deployment"

    /// Key of the advisory lock that serializes schema creation and migrations ('miis' in ASCII).
    static let migrationLockKey: Int64 = 0x6D69_6973

    /// The tables of schema 1, for telling our database from a foreign one.
    static let tables = ["meta", "servers", "deployment", "secrets", "key_check_values", "activation_log"]

    /// Schema 1 (release 1.0). `meta.schema_version` is set by the caller after the migrations.
    static let createSchema1: [String] = [
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
    ]

    /// Migrations from schema N-1 to N, keyed by N.
    static let migrations: [Int: [String]] = [
        // Release 1.1: secrets remember when they were last set (database clock); the same
        // column the SQLite store adds (there a REAL of Unix seconds, here a timestamptz).
        2: ["ALTER TABLE secrets ADD COLUMN updated_at timestamptz"],
        // Release 1.2: the lease is a deployment setting; activations are judged (and logged) with
        // it inside their transaction, and remember when they happened apart from other writes;
        // administrative changes are logged as 'changed' rows.
        3: [
            "ALTER TABLE deployment ADD COLUMN lease_seconds double precision NOT NULL DEFAULT \(DeploymentState.defaultLeaseSeconds)",
            "ALTER TABLE deployment ADD COLUMN activated_at timestamptz",
            "UPDATE deployment SET activated_at = updated_at",
            "ALTER TABLE activation_log ADD COLUMN lease_seconds double precision",
            "ALTER TABLE activation_log ADD COLUMN previous_heartbeat_age double precision",
            "ALTER TABLE activation_log ADD COLUMN forced boolean NOT NULL DEFAULT false",
            "ALTER TABLE activation_log ADD COLUMN forced_reason text",
            "ALTER TABLE activation_log DROP CONSTRAINT activation_log_outcome_check",
            "ALTER TABLE activation_log ADD CONSTRAINT activation_log_outcome_check CHECK (outcome IN ('activated', 'refused', 'failed', 'changed'))",
        ],
        // Release 1.3: the key set's life, as in the SQLite store: the key set's generation, each
        // key's status and primary mark, the secrets' needs-re-entry mark, and the key set's
        // append-only history, whose first row stands for the set up of generation 1.
        4: [
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
        ],
    ]
}
