import Crypto
import Foundation
import Synchronization
import _CryptoExtras

/// Key-pair authentication for Snowflake's SQL API: an RS256 JSON Web Token signed with the
/// user's private key, sent as `Authorization: Bearer <jwt>` with
/// `X-Snowflake-Authorization-Token-Type: KEYPAIR_JWT`.
///
/// Claims (Snowflake's "Using key-pair authentication" page): `iss` is
/// `<ACCOUNT>.<USER>.SHA256:<fingerprint>`, where the fingerprint is the base64 SHA-256 of the
/// public key's DER (SubjectPublicKeyInfo) encoding, the value `DESCRIBE USER` shows as
/// `RSA_PUBLIC_KEY_FP`; `sub` is `<ACCOUNT>.<USER>`; `iat` and `exp` in seconds, at most one
/// hour apart. Account and user are upper-cased; the account is the locator without its
/// region and cloud segments (`xy12345.us-east-2.aws` → `XY12345`), or `ORG-ACCOUNT`
/// (`myorg.myaccount` must be written `myorg-myaccount`).
///
/// A token is reused until `refreshMargin` before it expires. The private key never leaves this
/// type; `description` shows only the issuer.
public final class SnowflakeJWT: Sendable, CustomStringConvertible {
    /// `<ACCOUNT>.<USER>`.
    public let subject: String
    /// `SHA256:<base64 of the SHA-256 of the public key DER>`.
    public let publicKeyFingerprint: String
    /// How long a token is valid (at most one hour, Snowflake's limit).
    public let lifetime: Duration
    /// A cached token is replaced this long before it expires.
    public let refreshMargin: Duration
    private let key: _RSA.Signing.PrivateKey
    private let cache = Mutex<(token: String, expires: Int64)?>(nil)

    /// Why a key cannot be used; never contains key material.
    public struct KeyError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// - Parameters:
    ///   - account: the account identifier as configured (`xy12345`, `xy12345.us-east-2.aws`,
    ///     `myorg-myaccount`, with or without `.snowflakecomputing.com`).
    ///   - privateKeyPEM: an unencrypted PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1
    ///     (`BEGIN RSA PRIVATE KEY`) RSA key of 2048 bits or more.
    public init(
        account: String, user: String, privateKeyPEM: String, lifetime: Duration = .seconds(3600),
        refreshMargin: Duration = .seconds(300)
    ) throws(KeyError) {
        if privateKeyPEM.contains("ENCRYPTED") {
            throw KeyError(description: "the private key is encrypted; Keel needs an unencrypted PKCS#8 key")
        }
        do {
            key = try _RSA.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        } catch {
            throw KeyError(description: "the private key is not an RSA private key in PEM form of 2048 bits or more")
        }
        let digest = SHA256.hash(data: key.publicKey.derRepresentation)
        publicKeyFingerprint = "SHA256:" + Data(digest).base64EncodedString()
        subject = Self.accountIdentifier(account) + "." + user.uppercased()
        self.lifetime = min(lifetime, .seconds(3600))
        self.refreshMargin = refreshMargin
    }

    /// `<ACCOUNT>.<USER>.SHA256:<fingerprint>`.
    public var issuer: String { subject + "." + publicKeyFingerprint }

    public var description: String { "SnowflakeJWT(iss: \(issuer))" }

    /// The account part of the claims: upper-cased, without `.snowflakecomputing.com` and
    /// without region/cloud segments after the first `.`.
    public static func accountIdentifier(_ account: String) -> String {
        var text = Substring(account.trimmingCharacters(in: .whitespaces))
        if let scheme = text.range(of: "://") { text = text[scheme.upperBound...] }
        if let host = text.range(of: ".snowflakecomputing.com", options: .caseInsensitive) { text = text[..<host.lowerBound] }
        if let dot = text.firstIndex(of: ".") { text = text[..<dot] }
        return text.uppercased()
    }

    /// A valid token, reused while it has more than `refreshMargin` left.
    public func token(now: Date = Date()) throws(KeyError) -> String {
        let seconds = Int64(now.timeIntervalSince1970)
        let margin = refreshMargin.components.seconds
        if let cached = cache.withLock({ $0 }), cached.expires - margin > seconds { return cached.token }
        let expires = seconds + lifetime.components.seconds
        let token = try sign(issuedAt: seconds, expires: expires)
        cache.withLock { $0 = (token, expires) }
        return token
    }

    /// Forgets the cached token (after the server refused it).
    public func invalidate() {
        cache.withLock { $0 = nil }
    }

    func sign(issuedAt: Int64, expires: Int64) throws(KeyError) -> String {
        let header = #"{"alg":"RS256","typ":"JWT"}"#
        let payload = "{\"iss\":\(Self.jsonString(issuer)),\"sub\":\(Self.jsonString(subject)),\"iat\":\(issuedAt),\"exp\":\(expires)}"
        let input = Self.base64URL(Array(header.utf8)) + "." + Self.base64URL(Array(payload.utf8))
        do {
            let signature = try key.signature(for: SHA256.hash(data: Array(input.utf8)), padding: .insecurePKCS1v1_5)
            return input + "." + Self.base64URL(Array(signature.rawRepresentation))
        } catch {
            throw KeyError(description: "signing the token failed")
        }
    }

    /// Base64url without padding (RFC 7515).
    static func base64URL(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
