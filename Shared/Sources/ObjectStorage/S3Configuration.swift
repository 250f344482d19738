/// Where and how to reach an S3-compatible bucket.
public struct S3Configuration: Sendable {
    public var bucket: String
    /// AWS region used in the signature (`us-east-1` for most S3-compatible stores).
    public var region: String
    /// Overrides the AWS endpoint, for MinIO-style stores and tests: `http://127.0.0.1:9000`.
    /// Without it the endpoint is `https://s3.<region>.amazonaws.com`.
    public var endpoint: String?
    /// Address the bucket in the path (`endpoint/bucket/key`) rather than in the host name
    /// (`bucket.endpoint/key`). Default: true when an endpoint is given, false for AWS.
    public var pathStyle: Bool
    public var accessKeyId: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// Bodies larger than this go up as a multipart upload. Default 16 MiB.
    public var multipartThreshold: Int
    /// Part size of multipart uploads (S3's minimum is 5 MiB except for the last part). Default 8 MiB.
    public var partSize: Int
    /// Time limit of one HTTP request. Default 60 s.
    public var requestTimeoutSeconds: Int64

    public init(
        bucket: String,
        region: String = "us-east-1",
        endpoint: String? = nil,
        pathStyle: Bool? = nil,
        accessKeyId: String,
        secretAccessKey: String,
        sessionToken: String? = nil,
        multipartThreshold: Int = 16 << 20,
        partSize: Int = 8 << 20,
        requestTimeoutSeconds: Int64 = 60
    ) {
        self.bucket = bucket
        self.region = region
        self.endpoint = endpoint
        self.pathStyle = pathStyle ?? (endpoint != nil)
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.multipartThreshold = multipartThreshold
        self.partSize = max(partSize, 5 << 20)
        self.requestTimeoutSeconds = requestTimeoutSeconds
    }
}
