/// An event id compared byte by byte, as the unique index (`COLLATE "C"`) compares it.
///
/// Swift's `String ==` treats canonically equivalent strings as equal ("é" and "e\u{301}"),
/// which would call two ids PostgreSQL keeps apart duplicates of each other.
struct EventIDKey: Hashable {
    let id: String

    static func == (lhs: EventIDKey, rhs: EventIDKey) -> Bool {
        lhs.id.utf8.elementsEqual(rhs.id.utf8)
    }

    func hash(into hasher: inout Hasher) {
        var id = id
        id.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
