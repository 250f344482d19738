extension Timestamp {
    /// Parses an RFC 3339 date-time; `nil` when the text is not one or names an impossible date.
    public init?(parsing text: String) {
        var parsed: Int64?
        if let done = text.utf8.withContiguousStorageIfAvailable({ Self.parseMilliseconds($0) }) {
            parsed = done
        } else {
            var copy = text
            parsed = copy.withUTF8 { Self.parseMilliseconds($0) }
        }
        guard let parsed else { return nil }
        self.init(millisecondsSinceEpoch: parsed)
    }

    /// Parses an RFC 3339 date-time from UTF-8 bytes.
    public init?(parsing bytes: UnsafeBufferPointer<UInt8>) {
        guard let parsed = Self.parseMilliseconds(bytes) else { return nil }
        self.init(millisecondsSinceEpoch: parsed)
    }

    /// Parses a JSON string holding an RFC 3339 date-time; `nil` for anything else.
    public init?(_ json: JSON) {
        guard case .string(let text) = json else { return nil }
        self.init(parsing: text)
    }

    /// Milliseconds since the epoch of an RFC 3339 date-time, or `nil`.
    public static func parseMilliseconds(_ text: String) -> Int64? {
        Timestamp(parsing: text)?.millisecondsSinceEpoch
    }

    /// Accepts `YYYY-MM-DD(T|t| )hh:mm:ss(.f+)?(Z|z|±hh:mm|±hhmm)`, seconds up to 60 (a leap
    /// second counts as the next second's start).
    static func parseMilliseconds(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard bytes.count >= 20, let p = bytes.baseAddress else { return nil }
        @inline(__always) func digits(_ at: Int, _ length: Int) -> Int? {
            var value = 0
            for i in at..<at + length {
                let digit = p[i] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int(digit)
            }
            return value
        }
        guard let year = digits(0, 4), p[4] == UInt8(ascii: "-"),
            let month = digits(5, 2), p[7] == UInt8(ascii: "-"),
            let day = digits(8, 2),
            p[10] == UInt8(ascii: "T") || p[10] == UInt8(ascii: "t") || p[10] == UInt8(ascii: " "),
            let hour = digits(11, 2), p[13] == UInt8(ascii: ":"),
            let minute = digits(14, 2), p[16] == UInt8(ascii: ":"),
            let second = digits(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= Self.daysInMonth(month, year: year),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }

        var index = 19
        var millisecond = 0
        if p[index] == UInt8(ascii: ".") {
            index += 1
            let fractionStart = index
            while index < bytes.count, p[index] &- UInt8(ascii: "0") < 10 {
                if index - fractionStart < 3 { millisecond = millisecond * 10 + Int(p[index] &- UInt8(ascii: "0")) }
                index += 1
            }
            let fractionDigits = index - fractionStart
            guard fractionDigits > 0 else { return nil }
            for _ in Swift.min(fractionDigits, 3)..<3 { millisecond *= 10 }
        }

        guard index < bytes.count else { return nil }
        var offsetSeconds = 0
        switch p[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = p[index] == UInt8(ascii: "-") ? -1 : 1
            let remaining = bytes.count - index - 1
            let offsetHour: Int?
            let offsetMinute: Int?
            if remaining == 5, p[index + 3] == UInt8(ascii: ":") {
                offsetHour = digits(index + 1, 2)
                offsetMinute = digits(index + 4, 2)
            } else if remaining == 4 {
                offsetHour = digits(index + 1, 2)
                offsetMinute = digits(index + 3, 2)
            } else {
                return nil
            }
            guard let offsetHour, let offsetMinute, offsetHour <= 23, offsetMinute <= 59 else { return nil }
            offsetSeconds = sign * (offsetHour * 3600 + offsetMinute * 60)
            index = bytes.count
        default:
            return nil
        }
        guard index == bytes.count else { return nil }

        let days = Self.daysSinceEpoch(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        return seconds * 1000 + Int64(millisecond)
    }

    static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysInMonth(_ month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date. Counts in 400-year cycles of
    /// 146,097 days, with years starting in March so the leap day falls at the end of a year.
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let marchYear = month <= 2 ? year - 1 : year
        let cycle = (marchYear >= 0 ? marchYear : marchYear - 399) / 400
        let yearOfCycle = marchYear - cycle * 400  // 0...399
        let monthFromMarch = (month + 9) % 12  // March = 0 ... February = 11
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + day - 1
        let dayOfCycle = yearOfCycle * 365 + yearOfCycle / 4 - yearOfCycle / 100 + dayOfYear
        return cycle * 146_097 + dayOfCycle - 719_468  // 719,468 days from 0000-03-01 to 1970-01-01
    }
}
