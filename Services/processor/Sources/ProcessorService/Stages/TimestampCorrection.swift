import EventModel

/// Stage 2: the event's `timestamp`, corrected for the client's clock.
///
/// When `timestamp` is absent: `receivedAt - (sentAt - originalTimestamp)`, i.e. the moment the
/// event happened on the server's clock (the client clock's offset cancels out). When `sentAt`
/// or `originalTimestamp` is missing or unparseable, `receivedAt`. A present but unparseable
/// `timestamp` is replaced by `receivedAt` too. Without a parseable `receivedAt` (the gateway always
/// writes one) the event is left as it is.
public enum TimestampCorrection {
    public static func apply(to event: inout JSON) {
        if let existing = event["timestamp"], !existing.isNull, let text = existing.stringValue,
            Timestamp.parseMilliseconds(text) != nil
        {
            return
        }
        guard let receivedText = event["receivedAt"]?.stringValue,
            let received = Timestamp.parseMilliseconds(receivedText)
        else { return }
        var corrected = received
        if let sentText = event["sentAt"]?.stringValue, let sent = Timestamp.parseMilliseconds(sentText),
            let originalText = event["originalTimestamp"]?.stringValue,
            let original = Timestamp.parseMilliseconds(originalText)
        {
            corrected = received - (sent - original)
        }
        event["timestamp"] = .string(Timestamp.format(millisecondsSinceEpoch: corrected))
    }

    /// ``apply(to:)-(JSON)`` to the input's event, keeping its text in step: an appended
    /// `timestamp` is appended to the text too; a replaced one drops the text.
    public static func apply(to input: inout InputEvent) {
        let before = input.event["timestamp"]
        apply(to: &input.event)
        guard let text = input.eventText, !text.isText(of: input.event) else { return }
        input.eventText = before == nil ? text.appending(member: "timestamp", of: input.event) : nil
    }
}
