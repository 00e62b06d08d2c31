import Foundation
import Testing
import TidemarkAlerts
import TidemarkEvents

@Suite struct ReorderPointValidatorTests {
    static func entries(_ json: String) throws -> [LooseObject] {
        try JSONDecoder().decode([LooseObject].self, from: Data(json.utf8))
    }

    @Test func validEntriesBecomeReorderPoints() throws {
        let points = try ReorderPointValidator().validate(
            Self.entries(
                """
                [{"store_id": "S01", "product_id": "P1", "reorder_point": 10, "lead_time_hours": 48},
                 {"store_id": "S01", "category": "dairy", "reorder_point": 0, "lead_time_hours": 0, "product_id": null},
                 {"store_id": "S02", "product_id": "P1", "reorder_point": 1e2, "lead_time_hours": 8760}]
                """)
        ).get()
        #expect(
            points == [
                ReorderPoint(storeID: "S01", target: .product("P1"), reorderPoint: 10, leadTimeHours: 48),
                ReorderPoint(storeID: "S01", target: .category("dairy"), reorderPoint: 0, leadTimeHours: 0),
                ReorderPoint(storeID: "S02", target: .product("P1"), reorderPoint: 100, leadTimeHours: 8760),
            ])
    }

    /// Each bad entry (behind a good one at index 0) is named by index, field and message.
    @Test(arguments: [
        (#"{"product_id": "P1", "reorder_point": 1, "lead_time_hours": 1}"#, "store_id", "is required"),
        (#"{"store_id": "", "product_id": "P1", "reorder_point": 1, "lead_time_hours": 1}"#, "store_id", "must not be empty"),
        (#"{"store_id": 7, "product_id": "P1", "reorder_point": 1, "lead_time_hours": 1}"#, "store_id", "must be a string, got an integer"),
        (
            #"{"store_id": "S", "product_id": "\#(String(repeating: "p", count: 65))", "reorder_point": 1, "lead_time_hours": 1}"#, "product_id",
            "at most 64"
        ),
        (#"{"store_id": "S\u0000", "product_id": "P1", "reorder_point": 1, "lead_time_hours": 1}"#, "store_id", "NUL"),
        (#"{"store_id": "S", "reorder_point": 1, "lead_time_hours": 1}"#, "product_id", "is required unless category"),
        (#"{"store_id": "S", "product_id": "P1", "category": "dairy", "reorder_point": 1, "lead_time_hours": 1}"#, "category", "not both"),
        (#"{"store_id": "S", "product_id": "P1", "lead_time_hours": 1}"#, "reorder_point", "is required"),
        (#"{"store_id": "S", "product_id": "P1", "reorder_point": -1, "lead_time_hours": 1}"#, "reorder_point", "from 0 to 1000000000, got -1"),
        (#"{"store_id": "S", "product_id": "P1", "reorder_point": 1.5, "lead_time_hours": 1}"#, "reorder_point", "not a whole number"),
        (#"{"store_id": "S", "product_id": "P1", "reorder_point": "5", "lead_time_hours": 1}"#, "reorder_point", "got a string"),
        (#"{"store_id": "S", "product_id": "P1", "reorder_point": 1000000001, "lead_time_hours": 1}"#, "reorder_point", "got 1000000001"),
        (#"{"store_id": "S", "product_id": "P1", "reorder_point": 1, "lead_time_hours": 8761}"#, "lead_time_hours", "from 0 to 8760"),
        (#"{"store_id": "S", "product_id": "P1", "reorder_point": 1, "lead_time_hours": true}"#, "lead_time_hours", "got a boolean"),
        (#"{"store_id": "S", "product_id": "P1", "reorder_point": 1, "lead_time_hours": 1, "reorder_level": 3}"#, "reorder_level", "not a field"),
        (#"{"store_id": "A", "product_id": "P0", "reorder_point": 2, "lead_time_hours": 2}"#, "product_id", "repeats entry 0"),
        (#"[1, 2]"#, "", "must be an object"),
        (#""S01""#, "", "must be an object"),
    ])
    func eachIssueIsNamed(entry: String, field: String, message: String) throws {
        let good = #"{"store_id": "A", "product_id": "P0", "reorder_point": 1, "lead_time_hours": 1}"#
        let result = ReorderPointValidator().validate(try Self.entries("[\(good), \(entry)]"))
        guard case .failure(let invalid) = result else {
            Issue.record("accepted: \(entry)")
            return
        }
        #expect(invalid.issues.count == 1, "\(invalid.issues)")
        let issue = try #require(invalid.issues.first)
        #expect(issue.index == 1)
        #expect(issue.field == field)
        #expect(issue.message.contains(message), "\(issue.message)")
    }

    @Test func everyIssueOfEveryEntryIsListed() throws {
        let result = ReorderPointValidator().validate(
            try Self.entries(
                """
                [{"store_id": "S", "product_id": "P1", "reorder_point": 1, "lead_time_hours": 1},
                 {"reorder_point": -3},
                 {"store_id": "S", "category": "dairy", "reorder_point": 1, "lead_time_hours": 1},
                 {"store_id": "S", "category": "dairy", "reorder_point": 2, "lead_time_hours": "x"}]
                """))
        guard case .failure(let invalid) = result else {
            Issue.record("accepted")
            return
        }
        let named = invalid.issues.map { "\($0.index) \($0.field)" }
        #expect(named == ["1 store_id", "1 product_id", "1 reorder_point", "1 lead_time_hours", "3 lead_time_hours", "3 category"])
    }
}
