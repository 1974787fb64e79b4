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
    ]
}
