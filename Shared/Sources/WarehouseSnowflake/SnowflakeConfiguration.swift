import ObjectStorage

/// Where a `type: snowflake` destination loads and how it authenticates: the SQL API account,
/// key-pair user, session context (warehouse, database, schema, role) and the S3 stage files go
/// through.
///
/// `description` shows the account, user, database and schema, never the key or AWS secrets.
public struct SnowflakeConfiguration: Sendable, CustomStringConvertible {
    /// How COPY reaches the staged files.
    public enum StageAccess: Sendable, Equatable {
        /// `COPY … FROM 's3://bucket/key' CREDENTIALS = (AWS_KEY_ID=… AWS_SECRET_KEY=…)`, with the
        /// same keys Keel uploads with.
        case credentials
        /// `COPY … FROM 's3://bucket/key' STORAGE_INTEGRATION = <name>`.
        case storageIntegration(String)
        /// `COPY … FROM @<stage>/<key>`: a named external stage whose URL is `s3://<bucket>/`.
        case namedStage(String)
    }

    /// The account identifier (`xy12345`, `xy12345.us-east-2.aws`, `myorg-myaccount`).
    public var account: String
    public var user: String
    /// Unencrypted PKCS#8 or PKCS#1 RSA private key in PEM form.
    public var privateKeyPEM: String
    /// Warehouse, database, schema and role are upper-cased, as Snowflake does with unquoted names.
    public var warehouse: String
    public var database: String
    public var schema: String
    public var role: String?
    /// The SQL API base URL. Default `https://<account>.snowflakecomputing.com`.
    public var baseURL: String
    /// The bucket staged files are uploaded to, with the keys Keel signs uploads with.
    public var s3: S3Configuration
    /// Key prefix of staged files inside the bucket (no leading or trailing `/`).
    public var prefix: String
    public var stageAccess: StageAccess
    /// Timeout of one statement on the server (the `timeout` field). Default 600 s.
    public var statementTimeoutSeconds: Int
    /// How long the client waits for a statement, polling included. Default 15 minutes.
    public var deadline: Duration
    /// `User-Agent` of every request (the SQL API requires one).
    public var userAgent: String

    public init(
        account: String, user: String, privateKeyPEM: String, warehouse: String, database: String, schema: String,
        role: String? = nil, baseURL: String? = nil, s3: S3Configuration, prefix: String = "",
        stageAccess: StageAccess = .credentials, statementTimeoutSeconds: Int = 600, deadline: Duration = .seconds(900),
        userAgent: String = "keel-batch-router/1.0"
    ) {
        self.account = account
        self.user = user
        self.privateKeyPEM = privateKeyPEM
        // Unquoted Snowflake identifiers are upper-case; Keel names objects the same way.
        self.warehouse = warehouse.uppercased()
        self.database = database.uppercased()
        self.schema = schema.uppercased()
        self.role = role?.uppercased()
        var url = baseURL ?? "https://\(account.lowercased()).snowflakecomputing.com"
        while url.hasSuffix("/") { url.removeLast() }
        self.baseURL = url
        self.s3 = s3
        var trimmed = Substring(prefix)
        while trimmed.hasPrefix("/") { trimmed = trimmed.dropFirst() }
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        self.prefix = String(trimmed)
        self.stageAccess = stageAccess
        self.statementTimeoutSeconds = statementTimeoutSeconds
        self.deadline = deadline
        self.userAgent = userAgent
    }

    /// `snowflake://ACCOUNT/DATABASE.SCHEMA` for load history and logs.
    public var location: String { "snowflake://\(account)/\(database).\(schema)" }

    public var description: String { "\(location) as \(user)" }

    /// Secrets that must never appear in a message: the key and the AWS secret.
    var secrets: [String] {
        [privateKeyPEM, s3.secretAccessKey, s3.sessionToken ?? ""].filter { $0.count >= 4 }
    }
}

extension SnowflakeConfiguration: Equatable {
    /// Same settings, so a cached loader can be reused (the batch-router compares destinations).
    public static func == (lhs: SnowflakeConfiguration, rhs: SnowflakeConfiguration) -> Bool {
        lhs.account == rhs.account && lhs.user == rhs.user && lhs.privateKeyPEM == rhs.privateKeyPEM
            && lhs.warehouse == rhs.warehouse && lhs.database == rhs.database && lhs.schema == rhs.schema
            && lhs.role == rhs.role && lhs.baseURL == rhs.baseURL && lhs.prefix == rhs.prefix
            && lhs.stageAccess == rhs.stageAccess && lhs.statementTimeoutSeconds == rhs.statementTimeoutSeconds
            && lhs.deadline == rhs.deadline && lhs.userAgent == rhs.userAgent
            && lhs.s3.bucket == rhs.s3.bucket && lhs.s3.region == rhs.s3.region && lhs.s3.endpoint == rhs.s3.endpoint
            && lhs.s3.pathStyle == rhs.s3.pathStyle && lhs.s3.accessKeyId == rhs.s3.accessKeyId
            && lhs.s3.secretAccessKey == rhs.s3.secretAccessKey && lhs.s3.sessionToken == rhs.s3.sessionToken
    }
}
