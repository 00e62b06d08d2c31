import Foundation
import TidemarkEvents
import Yams

/// Reads `Pipelines/*.yaml` into checked definitions. Every problem names its
/// `file:line:column`; nothing partially valid is accepted.
public struct PipelineLoader: Sendable {
    public init() {}

    /// Loads every `.yaml`/`.yml` file of `directory`.
    public func load(directory: String) throws(PipelineErrors) -> PipelineCatalog {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        } catch {
            throw PipelineErrors(errors: [PipelineError(file: directory, line: 0, column: 0, message: "cannot read the pipelines folder: \(error)")])
        }
        var views: [PipelineDefinition] = []
        var errors: [PipelineError] = []
        for file in files {
            let path = (directory as NSString).appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                errors.append(PipelineError(file: path, line: 0, column: 0, message: "cannot read the file as UTF-8"))
                continue
            }
            do {
                views.append(try parse(text, file: path))
            } catch {
                errors.append(error)
            }
        }
        if errors.isEmpty && views.isEmpty {
            errors.append(PipelineError(file: directory, line: 0, column: 0, message: "no .yaml pipeline files found"))
        }
        var seen: [String: String] = [:]
        for view in views {
            if let other = seen[view.name] {
                errors.append(PipelineError(file: view.file, line: 1, column: 1, message: "view '\(view.name)' is also defined in \(other)"))
            }
            seen[view.name] = view.file
        }
        guard errors.isEmpty else { throw PipelineErrors(errors: errors) }
        return PipelineCatalog(views: views)
    }

    /// Parses one definition; the view is named after the file.
    public func parse(_ text: String, file: String) throws(PipelineError) -> PipelineDefinition {
        let baseName = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw PipelineError(file: file, line: 1, column: 1, message: "the file is empty")
            }
            root = node
        } catch let error as PipelineError {
            throw error
        } catch let error as YamlError {
            throw Self.locate(error, file: file)
        } catch {
            throw PipelineError(file: file, line: 1, column: 1, message: "\(error)")
        }
        var reader = DefinitionReader(file: file)
        return try reader.definition(root, name: baseName)
    }

    private static func locate(_ error: YamlError, file: String) -> PipelineError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            PipelineError(file: file, line: mark.line, column: mark.column, message: "not valid YAML: \(problem)")
        default:
            PipelineError(file: file, line: 1, column: 1, message: "not valid YAML: \(error)")
        }
    }
}

/// Walks the YAML nodes of one file, keeping positions for messages.
struct DefinitionReader {
    let file: String

    static let namePattern = "a lowercase letter followed by lowercase letters, digits or '_', at most 40 characters"

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first), name.unicodeScalars.count <= 40 else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    func error(_ node: Node?, _ message: String) -> PipelineError {
        PipelineError(file: file, line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1, message: message)
    }

    func mapping(_ node: Node, what: String, allowed: [String]) throws(PipelineError) -> [(key: String, keyNode: Node, value: Node)] {
        guard let mapping = node.mapping else { throw error(node, "\(what) must be a mapping") }
        var result: [(key: String, keyNode: Node, value: Node)] = []
        for (key, value) in mapping {
            guard let name = key.scalar?.string else { throw error(key, "keys of \(what) must be plain names") }
            guard allowed.contains(name) else {
                throw error(key, "unknown key '\(name)' in \(what); expected one of: \(allowed.joined(separator: ", "))")
            }
            result.append((name, key, value))
        }
        return result
    }

    func string(_ node: Node, what: String) throws(PipelineError) -> String {
        guard let scalar = node.scalar else { throw error(node, "\(what) must be a single value") }
        return scalar.string
    }

    /// A single name or a list of names.
    func names(_ node: Node, what: String) throws(PipelineError) -> [(String, Node)] {
        if let sequence = node.sequence {
            var result: [(String, Node)] = []
            for item in sequence { result.append((try string(item, what: "each item of \(what)"), item)) }
            guard !result.isEmpty else { throw error(node, "\(what) must not be empty") }
            return result
        }
        return [(try string(node, what: what), node)]
    }

    func eventTypes(_ node: Node, what: String) throws(PipelineError) -> Set<EventType> {
        var types: Set<EventType> = []
        for (name, item) in try names(node, what: what) {
            guard let type = EventType(rawValue: name) else {
                throw error(item, "unknown event type '\(name)' in \(what); expected one of: sale, return, stock, price")
            }
            types.insert(type)
        }
        return types
    }

    mutating func definition(_ root: Node, name: String) throws(PipelineError) -> PipelineDefinition {
        guard Self.isValidName(name) else {
            throw error(root, "the file name gives the view's name, '\(name)', which must be \(Self.namePattern)")
        }
        let fields = try mapping(root, what: "a pipeline", allowed: ["name", "description", "events", "grain", "keys", "measures"])
        func field(_ key: String) -> (keyNode: Node, value: Node)? {
            fields.first { $0.key == key }.map { ($0.keyNode, $0.value) }
        }
        if let declared = field("name") {
            let text = try string(declared.value, what: "name")
            guard text == name else { throw error(declared.value, "name '\(text)' differs from the file name '\(name)'") }
        }
        let description = try field("description").map { (f) throws(PipelineError) in try string(f.value, what: "description") } ?? ""
        guard let eventsField = field("events") else { throw error(root, "'events' is missing: the event types the view reads") }
        let source = EventFilter(types: try eventTypes(eventsField.value, what: "events"))
        guard let grainField = field("grain") else { throw error(root, "'grain' is missing: minute, hour, day or none") }
        let grainText = try string(grainField.value, what: "grain")
        guard let grain = Grain(rawValue: grainText) else {
            throw error(grainField.value, "unknown grain '\(grainText)'; expected one of: minute, hour, day, none")
        }
        guard let keysField = field("keys") else { throw error(root, "'keys' is missing: the fields the view groups by (may be [])") }
        var keys: [KeyField] = []
        if keysField.value.sequence?.isEmpty != true {
            for (keyName, item) in try names(keysField.value, what: "keys") {
                guard let key = KeyField(rawValue: keyName) else {
                    throw error(item, "unknown key '\(keyName)'; expected one of: \(KeyField.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                guard !keys.contains(key) else { throw error(item, "key '\(keyName)' is listed twice") }
                keys.append(key)
            }
        }
        guard let measuresField = field("measures") else { throw error(root, "'measures' is missing") }
        guard let measureNodes = measuresField.value.mapping, !measureNodes.isEmpty else {
            throw error(measuresField.value, "measures must be a non-empty mapping of name to definition")
        }
        var measures: [MeasureDefinition] = []
        for (keyNode, value) in measureNodes {
            let measureName = try string(keyNode, what: "a measure name")
            guard Self.isValidName(measureName) else { throw error(keyNode, "measure name '\(measureName)' must be \(Self.namePattern)") }
            guard measureName != "bucket", KeyField(rawValue: measureName) == nil else {
                throw error(keyNode, "measure name '\(measureName)' is taken by a key or the bucket column")
            }
            guard !measures.contains(where: { $0.name == measureName }) else { throw error(keyNode, "measure '\(measureName)' is defined twice") }
            measures.append(try measure(measureName, value, source: source, grain: grain, keys: keys, earlier: measures))
        }
        return PipelineDefinition(
            name: name, description: description, source: source, grain: grain, keys: keys, measures: measures, file: file)
    }

    func measure(
        _ name: String, _ node: Node, source: EventFilter, grain: Grain, keys: [KeyField], earlier: [MeasureDefinition]
    ) throws(PipelineError) -> MeasureDefinition {
        let kinds = ["sum", "count", "min", "max", "latest", "on_hand", "derive"]
        let fields = try mapping(node, what: "measure '\(name)'", allowed: kinds + ["where"])
        let kindFields = fields.filter { kinds.contains($0.key) }
        guard kindFields.count == 1, let kindField = kindFields.first else {
            throw error(node, "measure '\(name)' needs exactly one of: \(kinds.joined(separator: ", "))")
        }
        var filter: EventFilter?
        if let whereField = fields.first(where: { $0.key == "where" }) {
            filter = try self.filter(whereField.value, measure: name, source: source)
        }
        func expression(fieldsAllowed: Bool) throws(PipelineError) -> ValueExpression {
            let text = try string(kindField.value, what: "the \(kindField.key) of '\(name)'")
            let parsed: ValueExpression
            do { parsed = try ExpressionParser.parse(text) } catch { throw self.error(kindField.value, error.message) }
            for used in parsed.names {
                if fieldsAllowed {
                    guard EventField(rawValue: used) != nil else {
                        throw self.error(
                            kindField.value,
                            "unknown field '\(used)'; expected one of: \(EventField.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                } else {
                    guard let target = earlier.first(where: { $0.name == used }) else {
                        throw self.error(
                            kindField.value,
                            "'\(used)' is not a measure defined above; expected one of: \(earlier.map(\.name).joined(separator: ", "))")
                    }
                    guard target.valueType == .integer else {
                        throw self.error(kindField.value, "'\(used)' is a timestamp and cannot be used in arithmetic")
                    }
                }
            }
            if fieldsAllowed, parsed.names.contains(EventField.occurredAt.rawValue), parsed != .name(EventField.occurredAt.rawValue) {
                throw self.error(kindField.value, "occurred_at is a timestamp: use it alone, not in arithmetic")
            }
            return parsed
        }
        func type(of expression: ValueExpression) -> MeasureValueType {
            expression == .name(EventField.occurredAt.rawValue) ? .timestamp : .integer
        }
        switch kindField.key {
        case "sum":
            let e = try expression(fieldsAllowed: true)
            guard type(of: e) == .integer else { throw error(kindField.value, "sum needs an integer expression, not a timestamp") }
            return MeasureDefinition(name: name, kind: .sum(e), filter: filter, valueType: .integer)
        case "count":
            guard kindField.value.bool == true else { throw error(kindField.value, "write 'count: true'") }
            return MeasureDefinition(name: name, kind: .count, filter: filter, valueType: .integer)
        case "min":
            let e = try expression(fieldsAllowed: true)
            return MeasureDefinition(name: name, kind: .min(e), filter: filter, valueType: type(of: e))
        case "max":
            let e = try expression(fieldsAllowed: true)
            return MeasureDefinition(name: name, kind: .max(e), filter: filter, valueType: type(of: e))
        case "latest":
            let e = try expression(fieldsAllowed: true)
            return MeasureDefinition(name: name, kind: .latest(e), filter: filter, valueType: type(of: e))
        case "on_hand":
            guard kindField.value.bool == true else { throw error(kindField.value, "write 'on_hand: true'") }
            guard filter == nil else { throw error(node, "on_hand follows DESIGN.md's stock rule and takes no 'where'") }
            guard grain == .none else { throw error(kindField.value, "on_hand needs 'grain: none' (it is a level, not a flow)") }
            guard Set(keys) == [.storeID, .productID], keys.count == 2 else {
                throw error(kindField.value, "on_hand needs 'keys: [store_id, product_id]' (counts are per store and product)")
            }
            guard source.types.isSuperset(of: [.sale, .return, .stock]) else {
                throw error(kindField.value, "on_hand needs 'events' to include sale, return and stock")
            }
            guard !earlier.contains(where: { $0.kind == .onHand }) else { throw error(kindField.value, "a view has at most one on_hand measure") }
            return MeasureDefinition(name: name, kind: .onHand, filter: nil, valueType: .integer)
        default:
            guard filter == nil else { throw error(node, "a derived measure takes no 'where': filter the measures it uses") }
            let e = try expression(fieldsAllowed: false)
            return MeasureDefinition(name: name, kind: .derived(e), filter: nil, valueType: .integer)
        }
    }

    func filter(_ node: Node, measure: String, source: EventFilter) throws(PipelineError) -> EventFilter {
        let fields = try mapping(node, what: "the 'where' of '\(measure)'", allowed: ["type", "kind"])
        var types = source.types
        if let typeField = fields.first(where: { $0.key == "type" }) {
            types = try eventTypes(typeField.value, what: "where.type")
            guard types.isSubset(of: source.types) else {
                throw error(
                    typeField.value,
                    "where.type names events the view does not read; 'events' lists: "
                        + source.types.map(\.rawValue).sorted().joined(separator: ", "))
            }
        }
        var kinds: Set<StockKind>?
        if let kindField = fields.first(where: { $0.key == "kind" }) {
            guard types == [.stock] else { throw error(kindField.value, "where.kind needs 'type: stock'") }
            var set: Set<StockKind> = []
            for (kindName, item) in try names(kindField.value, what: "where.kind") {
                guard let kind = StockKind(rawValue: kindName) else {
                    throw error(item, "unknown stock kind '\(kindName)'; expected one of: receipt, adjustment, count")
                }
                set.insert(kind)
            }
            kinds = set
        }
        return EventFilter(types: types, stockKinds: kinds)
    }
}
