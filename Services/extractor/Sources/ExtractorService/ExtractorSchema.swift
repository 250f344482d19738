import Storage

/// The Postgres schema the extractor owns (docs/architecture.md, "Postgres schemas").
public enum ExtractorSchema {
    /// Schema name.
    public static let name = "extractor"

    /// Migrations, in version order. None yet: the extractor's tables come with its features.
    public static let migrations: [Migration] = []
}
