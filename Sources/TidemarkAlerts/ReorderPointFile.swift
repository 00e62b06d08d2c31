import TidemarkEvents
import Yams

/// A file of reorder points for `tidemark reorder-points load`: CSV with a header row, or YAML
/// (a list of mappings), with the fields of `PUT /v1/reorder-points`. Read into the same loose
/// entries as a request body, so one validator judges both.
public struct ReorderPointFile: Sendable {
    public var entries: [LooseObject]
    /// The line each entry starts on, from 1, for messages.
    public var lines: [Int]

    public struct FormatError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ text: String, path: String) throws(FormatError) -> ReorderPointFile {
        let lowered = path.lowercased()
        if lowered.hasSuffix(".csv") { return try parseCSV(text) }
        if lowered.hasSuffix(".yaml") || lowered.hasSuffix(".yml") { return try parseYAML(text) }
        throw FormatError(description: "\(path): the file name must end in .csv, .yaml or .yml, which says how to read it")
    }

    /// Columns are named by the header; an empty cell is an absent field. CSV has no types, so
    /// the number columns are read as numbers and every other column as text.
    static func parseCSV(_ text: String) throws(FormatError) -> ReorderPointFile {
        let records = try CSVRecords.parse(text)
        guard let header = records.first else { throw FormatError(description: "the file is empty: it needs a header row") }
        var seen: Set<String> = []
        for name in header.cells {
            guard ReorderPointValidator.fields.contains(name) else {
                throw FormatError(
                    description: "line 1: unknown column '\(name)'; the columns are \(ReorderPointValidator.fields.joined(separator: ", "))")
            }
            guard seen.insert(name).inserted else { throw FormatError(description: "line 1: column '\(name)' appears twice") }
        }
        var file = ReorderPointFile(entries: [], lines: [])
        for record in records.dropFirst() {
            guard record.cells.count == header.cells.count else {
                throw FormatError(description: "line \(record.line): \(record.cells.count) cells, but the header has \(header.cells.count)")
            }
            var fields: [String: WireValue] = [:]
            for (name, cell) in zip(header.cells, record.cells) where !cell.isEmpty {
                fields[name] = numberFields.contains(name) ? number(cell) : .string(cell)
            }
            file.entries.append(LooseObject(fields: fields))
            file.lines.append(record.line)
        }
        return file
    }

    static let numberFields: Set = ["reorder_point", "lead_time_hours"]

    private static func number(_ cell: String) -> WireValue {
        if let value = Int64(cell) { return .integer(value) }
        return Double(cell) != nil ? .otherNumber : .string(cell)
    }

    static func parseYAML(_ text: String) throws(FormatError) -> ReorderPointFile {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw FormatError(description: "not valid YAML: \(error)")
        }
        guard let root else { return ReorderPointFile(entries: [], lines: []) }
        guard let sequence = root.sequence else {
            throw FormatError(description: "the file must be a YAML list of reorder points (each `- store_id: ...`)")
        }
        var file = ReorderPointFile(entries: [], lines: [])
        for node in sequence {
            file.lines.append(node.mark?.line ?? 0)
            guard let mapping = node.mapping else {
                file.entries.append(LooseObject(fields: nil))
                continue
            }
            var fields: [String: WireValue] = [:]
            for (key, value) in mapping {
                fields[key.string ?? "\(key)"] = wireValue(value)
            }
            file.entries.append(LooseObject(fields: fields))
        }
        return file
    }

    private static func wireValue(_ node: Node) -> WireValue {
        guard node.scalar != nil else { return .composite }
        switch node.tag.rawValue {
        case Tag.Name.null.rawValue: return .null
        case Tag.Name.bool.rawValue: return node.bool.map(WireValue.bool) ?? .otherNumber
        case Tag.Name.int.rawValue: return node.int.map { .integer(Int64($0)) } ?? .otherNumber
        case Tag.Name.float.rawValue: return .otherNumber
        default: return .string(node.string ?? "")
        }
    }
}

/// RFC 4180 records: fields separated by commas, optionally in double quotes (`""` inside
/// is one quote, and quoted fields may hold commas and line breaks); blank lines are skipped.
struct CSVRecords {
    struct Record {
        var line: Int
        var cells: [String]
    }

    static func parse(_ text: String) throws(ReorderPointFile.FormatError) -> [Record] {
        var records: [Record] = []
        var cells: [String] = []
        var cell = ""
        var line = 1
        var recordLine = 1
        var quoted = false
        var wasQuoted = false
        var characters = text.makeIterator()
        var pending: Character? = nil
        func endRecord() {
            cells.append(cell)
            if !(cells.count == 1 && cells[0].isEmpty && !wasQuoted) {
                records.append(Record(line: recordLine, cells: cells))
            }
            cells = []
            cell = ""
            wasQuoted = false
        }
        while let character = pending ?? characters.next() {
            pending = nil
            if quoted {
                if character == "\"" {
                    let next = characters.next()
                    if next == "\"" {
                        cell.append("\"")
                    } else {
                        quoted = false
                        pending = next
                    }
                } else {
                    if character == "\n" || character == "\r\n" { line += 1 }
                    cell.append(character)
                }
                continue
            }
            switch character {
            case "\"" where cell.isEmpty:
                quoted = true
                wasQuoted = true
            case ",":
                cells.append(cell)
                cell = ""
            case "\n", "\r\n", "\r":
                endRecord()
                line += 1
                recordLine = line
            default:
                cell.append(character)
            }
        }
        if quoted { throw ReorderPointFile.FormatError(description: "line \(recordLine): a quoted cell is not closed") }
        if !cell.isEmpty || !cells.isEmpty || wasQuoted { endRecord() }
        return records.map { record in
            Record(line: record.line, cells: record.cells.map { $0.trimmingSpaces })
        }
    }
}

extension String {
    /// Spaces around a CSV cell are noise from hand-edited files.
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return String(text)
    }
}
