import Crypto
import EventModel
import Foundation
import XCTest
import _CryptoExtras

@testable import WarehouseSnowflake

final class SnowflakeJWTTests: XCTestCase {
    func decode(_ part: Substring) throws -> JSON {
        try JSON(parsing: XCTUnwrap(SnowflakeTestServer.base64URLDecode(String(part))))
    }

    func testTokenVerifiesWithThePublicKeyAndCarriesSnowflakeClaims() throws {
        let keys = try keys()
        let jwt = try SnowflakeJWT(account: "xy12345.us-east-2.aws", user: "keel_loader", privateKeyPEM: keys.user.privateKeyPEM)
        let now = Date(timeIntervalSince1970: 1_795_953_600)
        let token = try jwt.token(now: now)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        XCTAssertEqual(parts.count, 3)
        XCTAssertFalse(token.contains("="), "base64url without padding")

        // The signature verifies with the public key openssl derived, over "header.payload".
        let publicKey = try _RSA.Signing.PublicKey(pemRepresentation: keys.user.publicKeyPEM)
        let signature = _RSA.Signing.RSASignature(rawRepresentation: try XCTUnwrap(SnowflakeTestServer.base64URLDecode(String(parts[2]))))
        let signed = Array((parts[0] + "." + parts[1]).utf8)
        XCTAssertTrue(publicKey.isValidSignature(signature, for: SHA256.hash(data: signed), padding: .insecurePKCS1v1_5))
        // …and not with another key, nor over other bytes.
        let otherKey = try _RSA.Signing.PublicKey(pemRepresentation: keys.other.publicKeyPEM)
        XCTAssertFalse(otherKey.isValidSignature(signature, for: SHA256.hash(data: signed), padding: .insecurePKCS1v1_5))
        XCTAssertFalse(publicKey.isValidSignature(signature, for: SHA256.hash(data: signed + [0]), padding: .insecurePKCS1v1_5))

        let header = try decode(parts[0])
        XCTAssertEqual(header["alg"]?.stringValue, "RS256")
        XCTAssertEqual(header["typ"]?.stringValue, "JWT")
        let claims = try decode(parts[1])
        // Account locator without region/cloud, upper-cased; fingerprint as openssl computes it.
        XCTAssertEqual(claims["sub"]?.stringValue, "XY12345.KEEL_LOADER")
        XCTAssertEqual(claims["iss"]?.stringValue, "XY12345.KEEL_LOADER.\(keys.user.fingerprint)")
        XCTAssertEqual(jwt.publicKeyFingerprint, keys.user.fingerprint)
        XCTAssertEqual(claims["iat"]?.intValue, 1_795_953_600)
        XCTAssertEqual(claims["exp"]?.intValue, 1_795_953_600 + 3600)
    }

    func testTokenIsReusedUntilNearExpiry() throws {
        let jwt = try SnowflakeJWT(account: "myorg-myaccount", user: "u", privateKeyPEM: try keys().user.privateKeyPEM)
        let start = Date(timeIntervalSince1970: 1_795_953_600)
        let first = try jwt.token(now: start)
        XCTAssertEqual(try jwt.token(now: start.addingTimeInterval(50 * 60)), first, "reused with 10 minutes left")
        let renewed = try jwt.token(now: start.addingTimeInterval(56 * 60))
        XCTAssertNotEqual(renewed, first, "renewed within the last 5 minutes")
        let claims = try decode(renewed.split(separator: ".")[1])
        XCTAssertEqual(claims["sub"]?.stringValue, "MYORG-MYACCOUNT.U")
        XCTAssertEqual(claims["iat"]?.intValue, 1_795_953_600 + 56 * 60)
    }

    func testAccountIdentifierRules() {
        XCTAssertEqual(SnowflakeJWT.accountIdentifier("xy12345"), "XY12345")
        XCTAssertEqual(SnowflakeJWT.accountIdentifier("xy12345.us-east-2.aws"), "XY12345")
        XCTAssertEqual(SnowflakeJWT.accountIdentifier("https://myorg-myaccount.snowflakecomputing.com"), "MYORG-MYACCOUNT")
    }

    func testABadKeyIsRefusedWithoutEchoingIt() {
        let garbage = "-----BEGIN PRIVATE KEY-----\nTm90QUtleUF0QWxsU2VjcmV0\n-----END PRIVATE KEY-----\n"
        XCTAssertThrowsError(try SnowflakeJWT(account: "a", user: "u", privateKeyPEM: garbage)) { error in
            XCTAssertFalse(String(describing: error).contains("Tm90QUtleUF0QWxsU2VjcmV0"))
        }
    }
}
