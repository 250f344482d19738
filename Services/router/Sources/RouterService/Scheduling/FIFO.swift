/// A first-in-first-out queue on an array with a moving head; storage is compacted when the
/// consumed prefix dominates, so pops are amortised O(1) and memory follows the live count.
struct FIFO<Element> {
    private var storage: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == storage.count }
    var count: Int { storage.count - head }
    var first: Element? { isEmpty ? nil : storage[head] }

    mutating func append(_ element: Element) { storage.append(element) }

    mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.count <= 1024)
            head = 0
        } else if head >= 1024 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Changes the first element in place; the queue must not be empty.
    @discardableResult
    mutating func updateFirst<R>(_ body: (inout Element) -> R) -> R {
        precondition(head < storage.count, "updateFirst on an empty FIFO")
        return body(&storage[head])
    }

    /// `body` applied to the first element without copying it out, `nil` when empty.
    func peek<R>(_ body: (Element) -> R) -> R? {
        head < storage.count ? body(storage[head]) : nil
    }
}

extension FIFO: Sequence {
    func makeIterator() -> ArraySlice<Element>.Iterator { storage[head...].makeIterator() }
}
extension FIFO: Sendable where Element: Sendable {}
