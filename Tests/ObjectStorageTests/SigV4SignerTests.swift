import XCTest

@testable import ObjectStorage

/// The worked examples of AWS's documentation. moto does not check signatures, so these are the
/// only proof that the signer is right.
final class SigV4SignerTests: XCTestCase {
    let s3Example = SigV4Signer(
        accessKeyId: "AKIAIOSFODNN7EXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region: "us-east-1",
        service: "s3"
    )

    // "Example: GET Object" in Amazon S3's "Signature calculations for the Authorization header".
    func testGetObjectExample() {
        let authorization = s3Example.authorization(
            method: "GET",
            path: "/test.txt",
            query: [],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"),
                ("Range", "bytes=0-9"),
                ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash),
                ("x-amz-date", "20130524T000000Z"),
            ],
            payloadHash: SigV4Signer.emptyPayloadHash,
            amzDate: "20130524T000000Z"
        )
        XCTAssertEqual(
            authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
    }

    // "Example: PUT Object": a key with `$` that must be percent-encoded, and a payload hash.
    func testPutObjectExample() {
        let payload = Array("Welcome to Amazon S3.".utf8)
        let hash = SigV4Signer.payloadHash(payload)
        XCTAssertEqual(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let authorization = s3Example.authorization(
            method: "PUT",
            path: "/test$file.text",
            query: [],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"),
                ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ("x-amz-content-sha256", hash),
            ],
            payloadHash: hash,
            amzDate: "20130524T000000Z"
        )
        XCTAssertTrue(
            authorization.hasSuffix("Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
            authorization
        )
        XCTAssertTrue(authorization.contains("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class"))
    }

    // "Example: GET Bucket Lifecycle": a query parameter without a value.
    func testLifecycleExample() {
        let authorization = s3Example.authorization(
            method: "GET",
            path: "/",
            query: [("lifecycle", "")],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash),
            ],
            payloadHash: SigV4Signer.emptyPayloadHash,
            amzDate: "20130524T000000Z"
        )
        XCTAssertTrue(authorization.hasSuffix("Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"), authorization)
    }

    // "Example: Get Bucket (List Objects)": query parameters sorted and encoded.
    func testListObjectsExample() {
        let authorization = s3Example.authorization(
            method: "GET",
            path: "/",
            query: [("prefix", "J"), ("max-keys", "2")],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash),
            ],
            payloadHash: SigV4Signer.emptyPayloadHash,
            amzDate: "20130524T000000Z"
        )
        XCTAssertTrue(authorization.hasSuffix("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"), authorization)
    }

    func testAmzDateFormatting() {
        XCTAssertEqual(SigV4Signer.amzDate(1_369_353_600), "20130524T000000Z")
        XCTAssertEqual(SigV4Signer.amzDate(951_827_696), "20000229T123456Z")
        XCTAssertEqual(SigV4Signer.amzDate(0), "19700101T000000Z")
    }

    func testEncoding() {
        XCTAssertEqual(SigV4Signer.canonicalURI("/a b/c+d/é"), "/a%20b/c%2Bd/%C3%A9")
        XCTAssertEqual(SigV4Signer.canonicalQuery([("b", "2"), ("a", "x/y"), ("a", "1")]), "a=1&a=x%2Fy&b=2")
    }

    func testSignedHeadersAddSessionToken() {
        var signer = s3Example
        signer.sessionToken = "token-value"
        let headers = signer.signedHeaders(
            method: "GET", path: "/k", query: [], headers: [("host", "h")],
            payloadHash: SigV4Signer.emptyPayloadHash, secondsSinceEpoch: 1_369_353_600
        )
        XCTAssertEqual(headers.map(\.0), ["x-amz-date", "x-amz-content-sha256", "x-amz-security-token", "Authorization"])
        XCTAssertTrue(headers[3].1.contains("x-amz-security-token"))
        XCTAssertFalse(headers[3].1.contains("wJalr"), "the secret key must never appear in a header")
    }
}
