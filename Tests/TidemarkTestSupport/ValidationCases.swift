/// One rule of wire format v1 and an event that breaks it.
public struct ValidationCase: Sendable, CustomStringConvertible {
    public var rule: String
    /// The event as wire JSON.
    public var json: String
    /// The field the server must blame.
    public var field: String
    /// Words the message must contain.
    public var messageContains: String

    public var description: String { rule }
}

/// Every validation rule, each broken once; shared by the validator's unit tests and the HTTP tests.
public enum ValidationCases {
    static func sale(_ overrides: [String: Any?]) -> String { Sample.saleJSON(id: "v-1", overriding: overrides) }

    static func stock(_ kind: String?, _ quantity: Any?) -> String {
        Sample.json([
            "id": "v-1", "type": "stock", "kind": kind, "quantity": quantity, "occurred_at": "2026-11-20T10:00:00Z",
            "store_id": "S01", "product_id": "P1",
        ])
    }

    public static let all: [ValidationCase] = [
        ValidationCase(rule: "id is required", json: sale(["id": nil]), field: "id", messageContains: "required"),
        ValidationCase(rule: "id must be a string", json: sale(["id": 12]), field: "id", messageContains: "must be a string"),
        ValidationCase(rule: "id must not be empty", json: sale(["id": ""]), field: "id", messageContains: "must not be empty"),
        ValidationCase(
            rule: "id at most 128 chars", json: sale(["id": String(repeating: "x", count: 129)]), field: "id", messageContains: "at most 128"),
        // Lengths count characters, not bytes: 65 two-byte characters are too many for a store id.
        ValidationCase(
            rule: "store_id counts characters", json: sale(["store_id": String(repeating: "é", count: 65)]), field: "store_id",
            messageContains: "at most 64 characters, got 65"),
        ValidationCase(rule: "type is required", json: sale(["type": nil]), field: "type", messageContains: "required"),
        ValidationCase(rule: "type must be known", json: sale(["type": "refund"]), field: "type", messageContains: "must be one of"),
        ValidationCase(rule: "occurred_at is required", json: sale(["occurred_at": nil]), field: "occurred_at", messageContains: "required"),
        ValidationCase(
            rule: "occurred_at needs an offset", json: sale(["occurred_at": "2026-11-20T10:00:00"]), field: "occurred_at", messageContains: "offset"),
        ValidationCase(
            rule: "occurred_at must be RFC 3339", json: sale(["occurred_at": "20/11/2026 10:00"]), field: "occurred_at", messageContains: "RFC 3339"),
        ValidationCase(
            rule: "occurred_at must be a real date", json: sale(["occurred_at": "2026-02-30T10:00:00Z"]), field: "occurred_at",
            messageContains: "RFC 3339"),
        ValidationCase(
            rule: "occurred_at at most 5 minutes ahead", json: sale(["occurred_at": "2999-01-01T00:00:00Z"]), field: "occurred_at",
            messageContains: "in the future"),
        ValidationCase(rule: "store_id is required", json: sale(["store_id": nil]), field: "store_id", messageContains: "required"),
        ValidationCase(rule: "store_id must not be empty", json: sale(["store_id": ""]), field: "store_id", messageContains: "must not be empty"),
        ValidationCase(
            rule: "store_id at most 64 chars", json: sale(["store_id": String(repeating: "s", count: 65)]), field: "store_id",
            messageContains: "at most 64"),
        ValidationCase(rule: "product_id is required", json: sale(["product_id": nil]), field: "product_id", messageContains: "required"),
        ValidationCase(
            rule: "product_id at most 64 chars", json: sale(["product_id": String(repeating: "p", count: 65)]), field: "product_id",
            messageContains: "at most 64"),
        ValidationCase(rule: "strings hold no NUL", json: sale(["product_id": "P\u{0}1"]), field: "product_id", messageContains: "NUL"),
        ValidationCase(rule: "sale quantity is required", json: sale(["quantity": nil]), field: "quantity", messageContains: "required"),
        ValidationCase(rule: "sale quantity > 0", json: sale(["quantity": 0]), field: "quantity", messageContains: "greater than 0"),
        ValidationCase(rule: "sale quantity is an integer", json: sale(["quantity": 1.5]), field: "quantity", messageContains: "must be an integer"),
        ValidationCase(rule: "sale quantity is a number", json: sale(["quantity": "2"]), field: "quantity", messageContains: "must be an integer"),
        ValidationCase(rule: "huge numbers are refused", json: sale(["quantity": 1e30]), field: "quantity", messageContains: "must be an integer"),
        ValidationCase(
            rule: "integers are exact",
            json:
                #"{"id":"v-1","type":"sale","occurred_at":"2026-11-20T10:00:00Z","store_id":"S01","product_id":"P1","quantity":1,"unit_price_cents":1.00000000000000001}"#,
            field: "unit_price_cents", messageContains: "must be an integer"),
        ValidationCase(rule: "sale quantity bounded", json: sale(["quantity": 2_000_000]), field: "quantity", messageContains: "at most"),
        ValidationCase(
            rule: "unit_price_cents is required", json: sale(["unit_price_cents": nil]), field: "unit_price_cents", messageContains: "required"),
        ValidationCase(rule: "unit_price_cents >= 0", json: sale(["unit_price_cents": -1]), field: "unit_price_cents", messageContains: "at least 0"),
        ValidationCase(
            rule: "money is integer cents", json: sale(["unit_price_cents": 2.5]), field: "unit_price_cents", messageContains: "must be an integer"),
        ValidationCase(rule: "currency is the deployment's", json: sale(["currency": "EUR"]), field: "currency", messageContains: "USD"),
        ValidationCase(rule: "category is a string", json: sale(["category": 7]), field: "category", messageContains: "must be a string"),
        ValidationCase(rule: "category not empty", json: sale(["category": ""]), field: "category", messageContains: "must not be empty"),
        ValidationCase(rule: "unknown fields are refused", json: sale(["colour": "red"]), field: "colour", messageContains: "not a known field"),
        ValidationCase(
            rule: "fields of other types are refused", json: sale(["kind": "receipt"]), field: "kind",
            messageContains: "not allowed for type \"sale\""),
        ValidationCase(
            rule: "return quantity > 0", json: sale(["type": "return", "quantity": -1]), field: "quantity", messageContains: "greater than 0"),
        ValidationCase(rule: "stock kind is required", json: stock(nil, 5), field: "kind", messageContains: "required"),
        ValidationCase(rule: "stock kind must be known", json: stock("sold", 5), field: "kind", messageContains: "must be one of"),
        ValidationCase(rule: "receipt quantity > 0", json: stock("receipt", 0), field: "quantity", messageContains: "greater than 0"),
        ValidationCase(rule: "adjustment quantity != 0", json: stock("adjustment", 0), field: "quantity", messageContains: "non-zero"),
        ValidationCase(rule: "count quantity >= 0", json: stock("count", -3), field: "quantity", messageContains: "at least 0"),
        ValidationCase(
            rule: "stock takes no prices",
            json: Sample.json([
                "id": "v-1", "type": "stock", "kind": "count", "quantity": 3, "unit_price_cents": 5,
                "occurred_at": "2026-11-20T10:00:00Z", "store_id": "S01", "product_id": "P1",
            ]), field: "unit_price_cents", messageContains: "not allowed for type \"stock\""),
        ValidationCase(
            rule: "price_cents is required",
            json: Sample.json([
                "id": "v-1", "type": "price", "occurred_at": "2026-11-20T10:00:00Z", "store_id": "S01", "product_id": "P1",
            ]), field: "price_cents", messageContains: "required"),
        ValidationCase(
            rule: "price_cents >= 0",
            json: Sample.json([
                "id": "v-1", "type": "price", "price_cents": -5, "occurred_at": "2026-11-20T10:00:00Z", "store_id": "S01", "product_id": "P1",
            ]), field: "price_cents", messageContains: "at least 0"),
        ValidationCase(rule: "an event is an object", json: "[1, 2]", field: "", messageContains: "JSON object"),
        ValidationCase(
            rule: "a field is given once", json: #"{"quantity":100,"# + sale([:]).dropFirst(), field: "quantity",
            messageContains: "more than once"),
        // A \u escape sends the object to JSONDecoder, which keeps the first value silently.
        ValidationCase(
            rule: "a field is given once, also where JSONDecoder reads the event",
            json: #"{"id":"v-2","category":"caf\u00e9","# + sale(["category": nil]).dropFirst(), field: "id", messageContains: "more than once"),
    ]
}
