import Storage

/// The processor's Postgres schema: the deduplication window and the processing errors.
public enum ProcessorSchema {
    public static let name = "processor"

    public static let migrations = [
        Migration(
            version: 1, name: "dedup window and processing errors",
            sql: """
                CREATE TABLE processor.dedup (
                    partition integer NOT NULL,
                    message_id text NOT NULL,
                    seen_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (partition, message_id)
                );
                CREATE INDEX dedup_seen_at ON processor.dedup (seen_at);
                CREATE TABLE processor.errors (
                    id bigserial PRIMARY KEY,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    workspace_id text NOT NULL,
                    source_id text NOT NULL,
                    destination_id text,
                    message_id text,
                    stage text NOT NULL,
                    reason text NOT NULL,
                    payload jsonb
                );
                CREATE INDEX errors_created_at ON processor.errors (created_at);
                CREATE INDEX errors_destination ON processor.errors (destination_id, created_at);
                """),
    ]
}
