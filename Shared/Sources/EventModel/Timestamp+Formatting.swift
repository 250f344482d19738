extension Timestamp {
    /// RFC 3339 in UTC with milliseconds: `2026-11-29T12:00:00.123Z`. Years outside 0...9999
    /// use the six-digit signed form JavaScript's `toISOString` uses (`+275760-09-13T...`).
    public var rfc3339: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(27)
        format(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Formats milliseconds since the epoch as ``rfc3339``.
    public static func format(millisecondsSinceEpoch: Int64) -> String {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch).rfc3339
    }

    /// Appends the ``rfc3339`` text to `buffer`, for splicing into JSON.
    public func format(into buffer: inout [UInt8]) {
        let (days, millisecondOfDay) = millisecondsSinceEpoch.dividedFlooring(by: 86_400_000)
        let (year, month, day) = Self.civilDate(daysSinceEpoch: Int(days))
        let millisecondOfDayInt = Int(millisecondOfDay)
        @inline(__always) func two(_ value: Int) {
            buffer.append(UInt8(ascii: "0") + UInt8(value / 10))
            buffer.append(UInt8(ascii: "0") + UInt8(value % 10))
        }
        if (0...9999).contains(year) {
            two(year / 100)
            two(year % 100)
        } else {
            buffer.append(year < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            let magnitude = Swift.min(abs(year), 999_999)
            two(magnitude / 10_000)
            two(magnitude / 100 % 100)
            two(magnitude % 100)
        }
        buffer.append(UInt8(ascii: "-"))
        two(month)
        buffer.append(UInt8(ascii: "-"))
        two(day)
        buffer.append(UInt8(ascii: "T"))
        two(millisecondOfDayInt / 3_600_000)
        buffer.append(UInt8(ascii: ":"))
        two(millisecondOfDayInt / 60_000 % 60)
        buffer.append(UInt8(ascii: ":"))
        two(millisecondOfDayInt / 1000 % 60)
        buffer.append(UInt8(ascii: "."))
        let millisecond = millisecondOfDayInt % 1000
        buffer.append(UInt8(ascii: "0") + UInt8(millisecond / 100))
        two(millisecond % 100)
        buffer.append(UInt8(ascii: "Z"))
    }

    /// The proleptic Gregorian date `daysSinceEpoch` days after 1970-01-01; the inverse of
    /// `daysSinceEpoch(year:month:day:)`.
    static func civilDate(daysSinceEpoch: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = daysSinceEpoch + 719_468  // days since 0000-03-01
        let cycle = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfCycle = shifted - cycle * 146_097  // 0...146096
        let yearOfCycle = (dayOfCycle - dayOfCycle / 1460 + dayOfCycle / 36_524 - dayOfCycle / 146_096) / 365
        let dayOfYear = dayOfCycle - (365 * yearOfCycle + yearOfCycle / 4 - yearOfCycle / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfCycle + cycle * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}

extension Int64 {
    /// Quotient rounded toward negative infinity and a remainder in `0..<divisor`.
    func dividedFlooring(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        var (quotient, remainder) = quotientAndRemainder(dividingBy: divisor)
        if remainder < 0 {
            quotient -= 1
            remainder += divisor
        }
        return (quotient, remainder)
    }
}
