/// The members of a JSON object, in document order.
///
/// Lookups are a linear scan for small objects (events have a dozen keys or so) and go through a
/// hash index once an object grows past ``indexThreshold`` keys. Setting an existing key keeps its
/// position; a new key goes at the end; setting `nil` removes the key.
///
/// Equality ignores order, as JSON does: two objects are equal when they have the same keys with
/// equal values. Serialisation and iteration keep the order.
public struct JSONObject: Sendable {
    struct Entry: Sendable {
        var key: String
        var value: JSON
    }

    /// Above this many keys, lookups use a hash index.
    static let indexThreshold = 12

    var entries: [Entry]
    /// Key to position in `entries`; only built for objects above `indexThreshold` keys.
    var positions: [String: Int]?

    /// An empty object.
    public init() {
        entries = []
        positions = nil
    }

    /// An object with these members in this order; a repeated key keeps its first position and
    /// its last value.
    public init(_ members: some Sequence<(key: String, value: JSON)>) {
        self.init()
        for (key, value) in members { self[key] = value }
    }

    /// An object of entries whose keys are known to be distinct.
    init(uniqueEntries: [Entry]) {
        entries = uniqueEntries
        positions = nil
        rebuildPositions()
    }

    /// The value for `key`, or `nil` when absent. Setting `nil` removes the key.
    public subscript(key: String) -> JSON? {
        get {
            guard let position = position(of: key) else { return nil }
            return entries[position].value
        }
        set {
            if let newValue {
                updateValue(newValue, forKey: key)
            } else {
                removeValue(forKey: key)
            }
        }
    }

    /// The keys in order.
    public var keys: [String] { entries.map(\.key) }

    /// The values in key order.
    public var values: [JSON] { entries.map(\.value) }

    public var count: Int { entries.count }

    public var isEmpty: Bool { entries.isEmpty }

    /// Whether the object has a member named `key`.
    public func contains(key: String) -> Bool { position(of: key) != nil }

    /// Sets the value for `key`, keeping its position if present, and returns the old value.
    @discardableResult
    public mutating func updateValue(_ value: JSON, forKey key: String) -> JSON? {
        if let position = position(of: key) {
            let old = entries[position].value
            entries[position].value = value
            return old
        }
        append(key: key, value: value)
        return nil
    }

    /// Inserts a member at `position` (clamped to `0...count`); when the key exists it is moved.
    public mutating func insert(_ value: JSON, forKey key: String, at position: Int) {
        removeValue(forKey: key)
        let target = Swift.min(Swift.max(position, 0), entries.count)
        if target == entries.count {
            append(key: key, value: value)
            return
        }
        entries.insert(Entry(key: key, value: value), at: target)
        rebuildPositions()
    }

    /// Removes `key` and returns its value, or `nil` when absent.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSON? {
        guard let position = position(of: key) else { return nil }
        let old = entries.remove(at: position).value
        rebuildPositions()
        return old
    }

    // MARK: Storage

    func position(of key: String) -> Int? {
        if let positions { return positions[key] }
        let length = key.utf8.count
        for i in entries.indices where entries[i].key.utf8.count == length && entries[i].key == key { return i }
        return nil
    }

    /// Appends a member known to be absent.
    mutating func append(key: String, value: JSON) {
        entries.append(Entry(key: key, value: value))
        if positions != nil {
            positions![key] = entries.count - 1
        } else if entries.count > Self.indexThreshold {
            rebuildPositions()
        }
    }

    private mutating func rebuildPositions() {
        guard entries.count > Self.indexThreshold else {
            positions = nil
            return
        }
        var index = [String: Int](minimumCapacity: entries.count)
        for (i, entry) in entries.enumerated() { index[entry.key] = i }
        positions = index
    }
}

extension JSONObject: Equatable {
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.entries.count == rhs.entries.count else { return false }
        for (i, entry) in lhs.entries.enumerated() {
            // Same order is the common case: compare in place before looking up.
            if i < rhs.entries.count, rhs.entries[i].key == entry.key {
                guard rhs.entries[i].value == entry.value else { return false }
                continue
            }
            guard let other = rhs[entry.key], other == entry.value else { return false }
        }
        return true
    }
}

extension JSONObject: Sequence {
    public typealias Element = (key: String, value: JSON)

    /// Iterates the members in order.
    public struct Iterator: IteratorProtocol {
        var base: IndexingIterator<[Entry]>

        public mutating func next() -> Element? {
            guard let entry = base.next() else { return nil }
            return (entry.key, entry.value)
        }
    }

    public func makeIterator() -> Iterator { Iterator(base: entries.makeIterator()) }

    public var underestimatedCount: Int { entries.count }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self.init()
        entries.reserveCapacity(elements.count)
        for (key, value) in elements { self[key] = value }
    }
}
