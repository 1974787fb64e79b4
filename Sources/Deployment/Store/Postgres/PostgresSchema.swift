/// The PostgreSQL side of the deployment database's schema, whose steps are ``SchemaSteps``
/// (the same tables and columns as SQLite's; PostgreSQL types: `timestamptz` for times, `uuid`
/// for key-set IDs, `bytea` for bytes, `bigint` for epochs and key IDs).
///
/// The tables live in the connection's current schema (normally `public`). Creation and every
/// migration run in one transaction that first takes a transaction-scoped advisory lock, so two
/// servers migrating at once are serialized: the second one sees the first one's result.
enum PostgresSchema {
    /// The product marker in `meta` (the same as the SQLite store's): a database without it is foreign.
    static let productMarker = SchemaSteps.productMarker

    /// Key of the advisory lock that serializes schema creation and migrations ('miis' in ASCII).
    static let migrationLockKey: Int64 = 0x6D69_6973

    /// The tables of schema 1, for telling our database from a foreign one.
    static let tables = ["meta", "servers", "deployment", "secrets", "key_check_values", "activation_log"]
}
