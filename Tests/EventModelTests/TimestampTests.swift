import Foundation
import XCTest

@testable import EventModel

final class TimestampTests: XCTestCase {
    private func millis(_ text: String) -> Int64? { Timestamp(parsing: text)?.millisecondsSinceEpoch }

    func testParsesUTCWithAndWithoutFractions() {
        XCTAssertEqual(millis("1970-01-01T00:00:00Z"), 0)
        XCTAssertEqual(millis("2026-11-29T12:00:00Z"), 1_795_953_600_000)
        XCTAssertEqual(millis("2026-11-29T12:00:00.1Z"), 1_795_953_600_100)
        XCTAssertEqual(millis("2026-11-29T12:00:00.12Z"), 1_795_953_600_120)
        XCTAssertEqual(millis("2026-11-29T12:00:00.123Z"), 1_795_953_600_123)
        XCTAssertEqual(millis("2026-11-29T12:00:00.123456789Z"), 1_795_953_600_123, "extra digits truncate")
        XCTAssertEqual(millis("2026-11-29T12:00:00.999999Z"), 1_795_953_600_999)
        XCTAssertEqual(millis("2026-11-29t12:00:00z"), 1_795_953_600_000)
        XCTAssertEqual(millis("2026-11-29 12:00:00Z"), 1_795_953_600_000)
    }

    func testParsesOffsets() {
        let utc = millis("2026-11-29T12:00:00.500Z")
        XCTAssertEqual(millis("2026-11-29T13:00:00.500+01:00"), utc)
        XCTAssertEqual(millis("2026-11-29T17:30:00.500+05:30"), utc)
        XCTAssertEqual(millis("2026-11-29T17:30:00.500+0530"), utc)
        XCTAssertEqual(millis("2026-11-29T07:00:00.500-05:00"), utc)
        XCTAssertEqual(millis("2026-11-29T07:00:00.500-0500"), utc)
        XCTAssertEqual(millis("2026-11-29T12:00:00.500+00:00"), utc)
        XCTAssertEqual(millis("2026-11-29T12:00:00.500-00:00"), utc)
        XCTAssertEqual(millis("2026-11-30T01:45:00.500+13:45"), utc, "offset crosses midnight")
    }

    func testDatesAcrossLeapYearsAndCenturies() {
        XCTAssertEqual(millis("2024-02-29T00:00:00Z"), 1_709_164_800_000)
        XCTAssertEqual(millis("2000-02-29T00:00:00Z"), 951_782_400_000)
        XCTAssertEqual(millis("2024-03-01T00:00:00Z"), 1_709_251_200_000)
        XCTAssertEqual(millis("1969-12-31T23:59:59.999Z"), -1)
        XCTAssertEqual(millis("1900-03-01T00:00:00Z"), -2_203_891_200_000)
        XCTAssertEqual(millis("9999-12-31T23:59:59.999Z"), 253_402_300_799_999)
        XCTAssertEqual(millis("0000-01-01T00:00:00Z"), -62_167_219_200_000)
    }

    func testAgreesWithFoundationOverManyDates() {
        // Foundation is the reference here only; the code under test does not use it.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var generator = SeededGenerator(seed: 3)
        for _ in 0..<2000 {
            let year = Int.random(in: 1600...2400, using: &generator)
            let month = Int.random(in: 1...12, using: &generator)
            let day = Int.random(in: 1...Timestamp.daysInMonth(month, year: year), using: &generator)
            let components = DateComponents(year: year, month: month, day: day, hour: 13, minute: 7, second: 9)
            let expected = Int64(calendar.date(from: components)!.timeIntervalSince1970) * 1000
            let text = String(format: "%04d-%02d-%02dT13:07:09Z", year, month, day)
            XCTAssertEqual(millis(text), expected, text)
            XCTAssertEqual(Timestamp(millisecondsSinceEpoch: expected).rfc3339, String(format: "%04d-%02d-%02dT13:07:09.000Z", year, month, day))
        }
    }

    func testRejectsGarbageAndImpossibleDates() {
        let invalid = [
            "", "garbage", "2026-11-29", "2026-11-29T12:00:00", "2026-11-29T12:00Z", "2026-11-29T12:00:00.Z",
            "2026-11-29T12:00:00.12a Z", "2026-11-29T12:00:00ZZ", "2026-11-29T12:00:00+1:00", "2026-11-29T12:00:00+01",
            "2026-11-29T12:00:00+01:0", "2026-11-29T12:00:00+24:00", "2026-11-29T12:00:00+01:60", "2026-11-29T12:00:00+01:00x",
            "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-11-00T00:00:00Z", "2026-11-31T00:00:00Z",
            "2025-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-11-29T24:00:00Z", "2026-11-29T12:60:00Z",
            "2026-11-29T12:00:61Z", "2026/11/29T12:00:00Z", "2026-11-29X12:00:00Z", "+2026-11-29T12:00:00Z",
            " 2026-11-29T12:00:00Z", "2026-11-29T12:00:00Z ", "２０２６-11-29T12:00:00Z", "2026-1１-29T12:00:00Z",
        ]
        for text in invalid { XCTAssertNil(Timestamp(parsing: text), text) }
    }

    func testFractionsOfAnyLength() {
        XCTAssertEqual(millis("2026-11-29T12:00:00.\(String(repeating: "9", count: 200))Z"), 1_795_953_600_999)
        XCTAssertEqual(millis("2026-11-29T12:00:00.\(String(repeating: "0", count: 200))1+01:00"), 1_795_950_000_000)
        XCTAssertNil(millis("2026-11-29T12:00:00.\(String(repeating: "1", count: 200))"), "offset still required")
    }

    func testLeapSecondIsAccepted() {
        XCTAssertEqual(millis("2016-12-31T23:59:60Z"), millis("2017-01-01T00:00:00Z"))
    }

    func testFormatsUTCWithMilliseconds() {
        XCTAssertEqual(Timestamp(millisecondsSinceEpoch: 0).rfc3339, "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(Timestamp(millisecondsSinceEpoch: 1_795_953_600_123).rfc3339, "2026-11-29T12:00:00.123Z")
        XCTAssertEqual(Timestamp(millisecondsSinceEpoch: -1).rfc3339, "1969-12-31T23:59:59.999Z")
        XCTAssertEqual(Timestamp(millisecondsSinceEpoch: 951_782_400_007).description, "2000-02-29T00:00:00.007Z")
        XCTAssertEqual(Timestamp.format(millisecondsSinceEpoch: 253_402_300_799_999), "9999-12-31T23:59:59.999Z")
        XCTAssertEqual(Timestamp(millisecondsSinceEpoch: 8_640_000_000_000_000).rfc3339, "+275760-09-13T00:00:00.000Z")
        XCTAssertEqual(Timestamp(millisecondsSinceEpoch: -62_198_755_200_000).rfc3339, "-000001-01-01T00:00:00.000Z")
        var buffer = Array("\"receivedAt\":\"".utf8)
        Timestamp(millisecondsSinceEpoch: 1_000).format(into: &buffer)
        XCTAssertEqual(String(decoding: buffer, as: UTF8.self), "\"receivedAt\":\"1970-01-01T00:00:01.000Z")
    }

    func testFormatThenParseRoundTrips() {
        var generator = SeededGenerator(seed: 11)
        for _ in 0..<5000 {
            let value = Int64.random(in: -62_167_219_200_000...253_402_300_799_999, using: &generator)
            let text = Timestamp(millisecondsSinceEpoch: value).rfc3339
            XCTAssertEqual(millis(text), value, text)
        }
    }

    func testParsesFromJSONAndBytes() {
        XCTAssertEqual(Timestamp(JSON.string("1970-01-01T00:00:01Z"))?.millisecondsSinceEpoch, 1000)
        XCTAssertNil(Timestamp(JSON.int(1000)))
        let bytes = Array("1970-01-01T00:00:02.5Z".utf8)
        XCTAssertEqual(bytes.withUnsafeBufferPointer { Timestamp(parsing: $0) }?.millisecondsSinceEpoch, 2500)
        XCTAssertEqual(Timestamp.parseMilliseconds("1970-01-01T00:00:03Z"), 3000)
    }

    func testNowIsTheWallClock() {
        let reference = Int64(Date().timeIntervalSince1970 * 1000)
        let now = Timestamp.now().millisecondsSinceEpoch
        XCTAssertLessThan(abs(now - reference), 1000)
    }

    func testArithmeticAndOrdering() {
        let a = Timestamp(millisecondsSinceEpoch: 1000)
        let b = a.adding(milliseconds: 500)
        XCTAssertLessThan(a, b)
        XCTAssertEqual(b.milliseconds(since: a), 500)
    }
}
