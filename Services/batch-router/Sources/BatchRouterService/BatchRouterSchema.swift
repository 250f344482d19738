import Storage

/// The Postgres schema the batch-router owns (docs/architecture.md, "Postgres schemas"):
/// the history of uploads (one row per file, or per warehouse load) and of load jobs (one row
/// per warehouse table per load). docs/batch-router.md describes the columns.
public enum BatchRouterSchema {
    /// Schema name.
    public static let name = "batch_router"

    /// Migrations, in version order.
    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "uploads and load jobs",
            sql: """
                CREATE TABLE uploads (
                    id text PRIMARY KEY,
                    job_id text NOT NULL,
                    destination_id text NOT NULL,
                    destination_type text NOT NULL,
                    source_id text,
                    object_key text,
                    location text,
                    row_count bigint NOT NULL DEFAULT 0,
                    bytes bigint NOT NULL DEFAULT 0,
                    discards bigint NOT NULL DEFAULT 0,
                    status text NOT NULL,
                    error text,
                    attempts integer NOT NULL DEFAULT 1,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX uploads_destination_created ON uploads (destination_id, created_at DESC);
                CREATE INDEX uploads_status_created ON uploads (status, created_at DESC);
                CREATE TABLE load_jobs (
                    upload_id text NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
                    table_name text NOT NULL,
                    row_count bigint NOT NULL,
                    added_columns integer NOT NULL DEFAULT 0,
                    status text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (upload_id, table_name)
                )
                """),
    ]
}
