import Foundation
import TidemarkEvents

/// Small builders for events in tests; times default to a fixed past hour.
public enum Sample {
    public static let hour = try! Timestamp(rfc3339: "2026-11-20T10:00:00Z")

    public static func sale(
        _ id: String, store: String = "S01", product: String = "P1", quantity: Int64 = 1, unitPriceCents: Int64 = 250,
        at: Timestamp = hour, category: String? = "dairy"
    ) -> Event {
        Event(
            id: id, occurredAt: at, storeID: store, productID: product,
            payload: .sale(SaleLine(quantity: quantity, unitPriceCents: unitPriceCents, category: category)))
    }

    /// A wire JSON object with the given fields; `nil` values are left out.
    public static func json(_ fields: [String: Any?]) -> String {
        let present = fields.compactMapValues { $0 }
        let data = try! JSONSerialization.data(withJSONObject: present, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// A valid sale as wire JSON, with fields overridden or removed (`.some(nil)` removes).
    public static func saleJSON(id: String, overriding overrides: [String: Any?] = [:]) -> String {
        var fields: [String: Any?] = [
            "id": id, "type": "sale", "occurred_at": "2026-11-20T10:00:00Z", "store_id": "S01", "product_id": "P1",
            "quantity": 2, "unit_price_cents": 250,
        ]
        for (key, value) in overrides { fields[key] = value }
        return json(fields)
    }

    public static func ndjson(_ objects: [String]) -> String {
        objects.joined(separator: "\n") + "\n"
    }
}
