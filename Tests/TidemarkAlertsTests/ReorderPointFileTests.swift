import Testing
import TidemarkAlerts
import TidemarkEvents

@Suite struct ReorderPointFileTests {
    @Test func csvWithAHeaderQuotesAndBlankCells() throws {
        let file = try ReorderPointFile.parse(
            """
            store_id,product_id,category,reorder_point,lead_time_hours
            S01,P1,,10,48
            "S,02",,"dai""ry", 5 ,0

            S03,P9,,x,1.5
            """, path: "points.CSV")
        #expect(file.lines == [2, 3, 5])
        #expect(
            file.entries[0].fields == [
                "store_id": .string("S01"), "product_id": .string("P1"), "reorder_point": .integer(10), "lead_time_hours": .integer(48),
            ])
        #expect(
            file.entries[1].fields == [
                "store_id": .string("S,02"), "category": .string("dai\"ry"), "reorder_point": .integer(5), "lead_time_hours": .integer(0),
            ])
        #expect(file.entries[2].fields?["reorder_point"] == .string("x"))
        #expect(file.entries[2].fields?["lead_time_hours"] == .otherNumber)
        guard case .failure(let invalid) = ReorderPointValidator().validate(file.entries) else {
            Issue.record("the third row is invalid")
            return
        }
        #expect(invalid.issues.map(\.field) == ["reorder_point", "lead_time_hours"])
        #expect(invalid.issues.allSatisfy { $0.index == 2 })
    }

    @Test(arguments: [
        ("store_id,product,reorder_point\n", "unknown column 'product'"),
        ("store_id,store_id\n", "appears twice"),
        ("store_id,product_id,reorder_point,lead_time_hours\nS1,P1,4\n", "line 2: 3 cells, but the header has 4"),
        ("store_id,product_id\n\"S1,P1\n", "not closed"),
        ("", "needs a header row"),
    ])
    func badCSVIsRefusedWithItsLine(text: String, message: String) {
        #expect {
            _ = try ReorderPointFile.parse(text, path: "p.csv")
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test func yamlListOfMappings() throws {
        let file = try ReorderPointFile.parse(
            """
            # reorder points
            - store_id: S01
              product_id: P1
              reorder_point: 10
              lead_time_hours: 48
            - {store_id: "002", category: dairy, reorder_point: 2.5, lead_time_hours: ~}
            - just text
            """, path: "points.yaml")
        #expect(file.lines == [2, 6, 7])
        #expect(file.entries[0].fields?["reorder_point"] == .integer(10))
        #expect(file.entries[1].fields?["store_id"] == .string("002"))
        #expect(file.entries[1].fields?["reorder_point"] == .otherNumber)
        #expect(file.entries[1].fields?["lead_time_hours"] == .null)
        #expect(file.entries[2].fields == nil)
        #expect(throws: ReorderPointFile.FormatError.self) { _ = try ReorderPointFile.parse("store_id: S01\n", path: "p.yml") }
        #expect(throws: ReorderPointFile.FormatError.self) { _ = try ReorderPointFile.parse("a,b\n", path: "p.txt") }
    }
}
