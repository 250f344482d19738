import EventModel

/// Salesforce settings (a connected app, OAuth 2.0).
///
/// - `clientId`, `clientSecret` (required): the connected app's consumer key and secret.
/// - Either `username` + `password` (+ `securityToken`, appended to the password as Salesforce's
///   username-password flow requires from untrusted IPs), or `refreshToken`.
/// - `environment`: `production` (default, login.salesforce.com) or `sandbox`
///   (test.salesforce.com); `loginURL` overrides both (My Domain, or a test server).
/// - `apiVersion` (default `62.0`).
public struct SalesforceConfig: Sendable {
    var clientId: String
    var clientSecret: String
    enum Grant: Sendable {
        case password(username: String, password: String)
        case refreshToken(String)
    }
    var grant: Grant
    var loginURL: String
    var apiVersion: String

    public init(_ config: JSON) throws(DestinationConfigError) {
        let reader = ConfigReader(config)
        clientId = try reader.required("clientId")
        clientSecret = try reader.required("clientSecret")
        if let refreshToken = try reader.optional("refreshToken") {
            grant = .refreshToken(refreshToken)
        } else if let username = try reader.optional("username") {
            let password = try reader.required("password")
            grant = .password(username: username, password: password + (try reader.optional("securityToken") ?? ""))
        } else {
            throw DestinationConfigError(key: "username", reason: "is required (with password), or refreshToken")
        }
        if let url = try reader.optional("loginURL") {
            guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
                throw DestinationConfigError(key: "loginURL", reason: "must be an http or https URL")
            }
            loginURL = url
            while loginURL.hasSuffix("/") { loginURL.removeLast() }
        } else {
            switch (try reader.optional("environment") ?? "production").lowercased() {
            case "production": loginURL = "https://login.salesforce.com"
            case "sandbox": loginURL = "https://test.salesforce.com"
            default: throw DestinationConfigError(key: "environment", reason: "must be production or sandbox")
            }
        }
        apiVersion = try reader.optional("apiVersion") ?? "62.0"
        guard apiVersion.allSatisfy({ $0.isNumber || $0 == "." }), apiVersion.contains(".") else {
            throw DestinationConfigError(key: "apiVersion", reason: "must be a version such as 62.0")
        }
    }
}
