import TidemarkEvents

/// Every reorder point refused, each issue named by entry position and field.
public struct InvalidReorderPoints: Error, Sendable {
    public var issues: [ValidationIssue]
}

/// Checks entries of `PUT /v1/reorder-points` and of `tidemark reorder-points load` alike:
/// every issue of every entry is listed, and one bad entry refuses them all.
public struct ReorderPointValidator: Sendable {
    public static let fields = ["store_id", "product_id", "category", "reorder_point", "lead_time_hours"]
    public static let maxReorderPoint: Int64 = 1_000_000_000
    /// A year: longer lead times are surely a mistake in units.
    public static let maxLeadTimeHours: Int64 = 8_760

    public init() {}

    public func validate(_ entries: [LooseObject]) -> Result<[ReorderPoint], InvalidReorderPoints> {
        var points: [ReorderPoint] = []
        var issues: [ValidationIssue] = []
        // Each (store, product) or (store, category) once: which of two values would win is not obvious.
        var seen: [ReorderPoint.Target: [String: Int]] = [:]
        for (index, entry) in entries.enumerated() {
            var reader = EntryReader(index: index, fields: entry.fields ?? [:])
            guard entry.fields != nil else {
                issues.append(
                    ValidationIssue(
                        index: index, id: nil, field: "",
                        message: "must be an object with store_id, product_id or category, reorder_point and lead_time_hours"))
                continue
            }
            let storeID = reader.string("store_id", maxLength: 64)
            let productID = reader.optionalString("product_id", maxLength: 64)
            let category = reader.optionalString("category", maxLength: 128)
            let target: ReorderPoint.Target?
            switch (productID, category) {
            case (let id?, nil): target = .product(id)
            case (nil, let name?): target = .category(name)
            case (_?, _?):
                reader.fail("category", "give product_id or category, not both")
                target = nil
            case (nil, nil):
                if !reader.failed("product_id") && !reader.failed("category") {
                    reader.fail("product_id", "is required unless category is given (a category's default)")
                }
                target = nil
            }
            let reorderPoint = reader.integer("reorder_point", in: 0...Self.maxReorderPoint)
            let leadTime = reader.integer("lead_time_hours", in: 0...Self.maxLeadTimeHours)
            reader.refuseOthers()
            if let storeID, let target {
                let field = target.isProduct ? "product_id" : "category"
                if let first = seen[target]?[storeID] {
                    reader.fail(field, "repeats entry \(first): the same store_id and \(field) may appear once")
                } else {
                    seen[target, default: [:]][storeID] = index
                }
            }
            issues += reader.issues
            if reader.issues.isEmpty, let storeID, let target, let reorderPoint, let leadTime {
                points.append(ReorderPoint(storeID: storeID, target: target, reorderPoint: reorderPoint, leadTimeHours: leadTime))
            }
        }
        return issues.isEmpty ? .success(points) : .failure(InvalidReorderPoints(issues: issues))
    }
}

extension ReorderPoint.Target {
    var isProduct: Bool {
        if case .product = self { return true }
        return false
    }
}

/// Reads one entry's fields, recording an issue per missing or wrong field.
private struct EntryReader {
    let index: Int
    let fields: [String: WireValue]
    private(set) var issues: [ValidationIssue] = []

    init(index: Int, fields: [String: WireValue]) {
        self.index = index
        self.fields = fields
    }

    mutating func fail(_ field: String, _ message: String) {
        issues.append(ValidationIssue(index: index, id: nil, field: field, message: message))
    }

    func failed(_ field: String) -> Bool { issues.contains { $0.field == field } }

    /// A known field set to `null` counts as absent, as in events.
    private func present(_ field: String) -> WireValue? {
        guard let value = fields[field], value != .null else { return nil }
        return value
    }

    mutating func string(_ field: String, maxLength: Int) -> String? {
        guard present(field) != nil else {
            fail(field, "is required")
            return nil
        }
        return optionalString(field, maxLength: maxLength)
    }

    mutating func optionalString(_ field: String, maxLength: Int) -> String? {
        guard let value = present(field) else { return nil }
        guard case .string(let text) = value else {
            fail(field, "must be a string, got \(value.kindDescription)")
            return nil
        }
        if text.isEmpty {
            fail(field, "must not be empty")
        } else if text.unicodeScalars.count > maxLength {
            fail(field, "must be at most \(maxLength) characters, got \(text.unicodeScalars.count)")
        } else if text.utf8.contains(0) {
            fail(field, "must not contain the NUL character (\\u0000)")
        } else {
            return text
        }
        return nil
    }

    mutating func integer(_ field: String, in range: ClosedRange<Int64>) -> Int64? {
        guard let value = present(field) else {
            fail(field, "is required: a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        guard case .integer(let number) = value else {
            fail(field, "must be a whole number from \(range.lowerBound) to \(range.upperBound), got \(value.kindDescription)")
            return nil
        }
        guard range.contains(number) else {
            fail(field, "must be from \(range.lowerBound) to \(range.upperBound), got \(number)")
            return nil
        }
        return number
    }

    /// Typos such as `reorder_level` would otherwise be dropped in silence.
    mutating func refuseOthers() {
        for name in fields.keys.sorted() where !ReorderPointValidator.fields.contains(name) {
            fail(name, "is not a field of a reorder point; the fields are \(ReorderPointValidator.fields.joined(separator: ", "))")
        }
    }
}
