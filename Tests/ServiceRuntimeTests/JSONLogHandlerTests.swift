import Foundation
import Logging
import ServiceRuntime
import XCTest

final class JSONLogHandlerTests: XCTestCase {
    private func makeLogger(_ captured: CapturedLines, level: Logger.Level = .info) -> Logger {
        Logger(label: "keel.test") { label in
            JSONLogHandler(label: label, service: "router", logLevel: level, sink: captured.sink)
        }
    }

    private func parse(_ line: String, file: StaticString = #filePath, line number: UInt = #line) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try XCTUnwrap(object as? [String: Any], "not a JSON object: \(line)", file: file, line: number)
    }

    func testEachEventIsOneJSONObjectWithTheFixedFields() throws {
        let captured = CapturedLines()
        let logger = makeLogger(captured)
        logger.info("started")
        logger.warning("slow")

        XCTAssertEqual(captured.lines.count, 2)
        let first = try parse(captured.lines[0])
        XCTAssertEqual(first["message"] as? String, "started")
        XCTAssertEqual(first["level"] as? String, "info")
        XCTAssertEqual(first["service"] as? String, "router")
        XCTAssertEqual(first["logger"] as? String, "keel.test")
        let timestamp = try XCTUnwrap(first["timestamp"] as? String)
        // RFC 3339, UTC, milliseconds: 2026-11-29T13:04:52.123Z
        XCTAssertNotNil(
            timestamp.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/),
            "timestamp \(timestamp)"
        )
        let parsedDate = try XCTUnwrap(ISO8601DateFormatter.withFractionalSeconds.date(from: timestamp))
        XCTAssertLessThan(abs(parsedDate.timeIntervalSinceNow), 60)
        XCTAssertEqual(try parse(captured.lines[1])["level"] as? String, "warning")
    }

    func testQuotesBackslashesAndControlCharactersAreEscaped() throws {
        let captured = CapturedLines()
        let logger = makeLogger(captured)
        let nasty = "say \"hi\"\\ now\nsecond line\r\ttab \u{01}\u{1F}\u{7F} bell\u{07} é ✓ 🚀"
        logger.error("\(nasty)", metadata: [LogKey.messageId: "\(nasty)", "k\"ey\n": "v"])

        XCTAssertEqual(captured.lines.count, 1, "a newline in the message must not split the line")
        let raw = captured.lines[0]
        for byte in raw.utf8 {
            XCTAssertFalse(byte < 0x20 || byte == 0x7F, "raw control byte \(byte) in \(raw)")
        }
        XCTAssertTrue(raw.contains(#"\u0001"#))
        XCTAssertTrue(raw.contains(#"\u007f"#))
        let object = try parse(raw)
        XCTAssertEqual(object["message"] as? String, nasty)
        XCTAssertEqual(object["messageId"] as? String, nasty)
        XCTAssertEqual(object["k\"ey\n"] as? String, "v")
    }

    func testMetadataIsFlattenedAndMerged() throws {
        let captured = CapturedLines()
        var logger = makeLogger(captured)
        logger[metadataKey: LogKey.workspace] = "acme"
        logger[metadataKey: LogKey.topic] = "old"
        logger.info(
            "delivered",
            metadata: [
                LogKey.topic: "keel.ingest",
                LogKey.partition: .stringConvertible(3),
                "http": ["status": "200", "headers": ["x": "1"]],
                "ids": ["a", "b"],
                "message": "collides",
            ]
        )
        let object = try parse(captured.lines[0])
        XCTAssertEqual(object["workspace"] as? String, "acme")
        XCTAssertEqual(object["topic"] as? String, "keel.ingest", "call metadata wins over logger metadata")
        XCTAssertEqual(object["partition"] as? String, "3")
        XCTAssertEqual(object["http.status"] as? String, "200")
        XCTAssertEqual(object["http.headers.x"] as? String, "1")
        XCTAssertEqual(object["ids"] as? [String], ["a", "b"])
        XCTAssertEqual(object["message"] as? String, "delivered")
        XCTAssertEqual(object["meta.message"] as? String, "collides")
    }

    func testAttachedErrorIsLogged() throws {
        struct Boom: Error, CustomStringConvertible { var description: String { "boom \"x\"" } }
        let captured = CapturedLines()
        let logger = makeLogger(captured)
        logger.error("failed", error: Boom())
        let object = try parse(captured.lines[0])
        XCTAssertEqual(object["error"] as? String, "boom \"x\"")
    }

    func testLevelBelowTheConfiguredOneIsNotWritten() {
        let captured = CapturedLines()
        let logger = makeLogger(captured, level: .notice)
        logger.info("hidden")
        logger.debug("hidden")
        logger.notice("shown")
        XCTAssertEqual(captured.lines.count, 1)
        XCTAssertTrue(captured.lines[0].contains("shown"))
    }

    func testTextFormatKeepsOneEventOnOneLine() {
        let captured = CapturedLines()
        let logger = Logger(label: "keel.test") { label in
            LoggingBootstrap.makeHandler(label: label, service: "gateway", format: .text, level: .info, sink: captured.sink)
        }
        logger.info("two\nlines", metadata: [LogKey.source: "web"])
        XCTAssertEqual(captured.lines.count, 1)
        let line = captured.lines[0]
        XCTAssertTrue(line.contains(" info gateway: two\\nlines source=web"), line)
    }
}

extension ISO8601DateFormatter {
    fileprivate static var withFractionalSeconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
