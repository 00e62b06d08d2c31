import Foundation
import Testing
import TidemarkEvents
import TidemarkPipelines
import TidemarkTestSupport

@Suite struct PipelineLoaderTests {
    @Test func theShippedViewsLoad() throws {
        let catalog = try ShippedPipelines.catalog()
        #expect(
            catalog.names == [
                "prices", "product_categories", "sales_by_category_day", "sales_by_product_hour", "sales_by_store_category_hour",
                "sales_by_store_day",
                "stock_levels",
            ])
        let hourly = try #require(catalog.view(named: "sales_by_product_hour"))
        #expect(hourly.grain == .hour)
        #expect(hourly.keys == [.storeID, .productID])
        #expect(
            hourly.measures.map(\.name) == [
                "units_sold", "units_returned", "net_units", "gross_revenue_cents", "refunds_cents", "net_revenue_cents", "sale_lines",
                "min_unit_price_cents", "max_unit_price_cents",
            ])
        #expect(hourly.storedMeasures.count == 7)
        let stock = try #require(catalog.view(named: "stock_levels"))
        #expect(stock.hasOnHand)
        #expect(stock.measure(named: "last_movement_at")?.valueType == .timestamp)
    }

    static let valid = """
        events: [sale, return]
        grain: hour
        keys: [store_id]
        measures:
          revenue: { sum: quantity * unit_price_cents, where: { type: sale } }
        """

    @Test func aValidFileParses() throws {
        let view = try PipelineLoader().parse(Self.valid, file: "Pipelines/my_view.yaml")
        #expect(view.name == "my_view")
        #expect(view.measures[0].kind == .sum(.multiply(.name("quantity"), .name("unit_price_cents"))))
        #expect(view.measures[0].filter == EventFilter(types: [.sale]))
    }

    /// Each broken file names the line (and column) of the problem and says what is wrong.
    @Test(
        arguments: [
            ("events: [sale\ngrain: hour", 2, "not valid YAML"),
            ("events: [sale]\ngrain: weekly\nkeys: []\nmeasures: { n: { count: true } }", 2, "unknown grain 'weekly'"),
            ("events: [sale]\ngrain: hour\nkeys: [store_id, sku]\nmeasures: { n: { count: true } }", 3, "unknown key 'sku'"),
            ("events: [sale, refund]\ngrain: hour\nkeys: []\nmeasures: { n: { count: true } }", 1, "unknown event type 'refund'"),
            ("events: [sale]\ngrain: hour\nkeys: []\nmeasures:\n  n: { count: true }\n  m: { sum: qty }", 6, "unknown field 'qty'"),
            ("events: [sale]\ngrain: hour\nkeys: []\nmeasures:\n  n: { sum: quantity * }", 5, "ends where a value was expected"),
            ("events: [sale]\ngrain: hour\nkeys: []\nmeasures:\n  n: { derive: a - b }", 5, "'a' is not a measure defined above"),
            (
                "events: [sale]\ngrain: hour\nkeys: []\nmeasures:\n  n: { sum: quantity, where: { type: price } }", 5,
                "names events the view does not read"
            ),
            ("events: [sale]\ngrain: hour\nkeys: []\nmeasures:\n  n: { on_hand: true }", 5, "on_hand needs 'grain: none'"),
            ("events: [sale]\ngrain: hour\nkeys: []\nmeasures:\n  n: { count: true, max: quantity }", 5, "exactly one of"),
            ("events: [sale]\ngrain: hour\nkeys: []\nmeasures:\n  n: { sum: occurred_at }", 5, "sum needs an integer"),
            ("events: [sale]\ngrain: hour\nkeys: []\ncolour: blue\nmeasures: { n: { count: true } }", 4, "unknown key 'colour'"),
            ("grain: hour\nkeys: []\nmeasures: { n: { count: true } }", 1, "'events' is missing"),
            ("events: [sale]\ngrain: hour\nkeys: []\nmeasures:\n  store_id: { count: true }", 5, "taken by a key"),
        ] as [(String, Int, String)])
    func aBrokenFileIsRejectedWithItsLine(text: String, line: Int, message: String) throws {
        let error = try #require(throws: PipelineError.self) { try PipelineLoader().parse(text, file: "Pipelines/broken.yaml") }
        #expect(error.line == line, "\(error)")
        #expect(error.message.contains(message), "\(error)")
        #expect(error.description.hasPrefix("Pipelines/broken.yaml:\(line):"))
    }

    @Test func aFolderReportsEveryBrokenFileAndAUserViewJoinsTheShippedOnes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pipelines-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for name in try FileManager.default.contentsOfDirectory(atPath: ShippedPipelines.directory) where name.hasSuffix(".yaml") {
            try FileManager.default.copyItem(atPath: ShippedPipelines.directory + "/" + name, toPath: folder + "/" + name)
        }
        try Self.valid.write(toFile: folder + "/revenue_by_store_hour.yaml", atomically: true, encoding: .utf8)
        #expect(try PipelineLoader().load(directory: folder).names.contains("revenue_by_store_hour"))

        try "events: [sale]\ngrain: fortnight\nkeys: []\nmeasures: { n: { count: true } }".write(
            toFile: folder + "/bad_one.yaml", atomically: true, encoding: .utf8)
        try "events: [sale]\ngrain: hour\nkeys: [nope]\nmeasures: { n: { count: true } }".write(
            toFile: folder + "/bad_two.yml", atomically: true, encoding: .utf8)
        let errors = try #require(throws: PipelineErrors.self) { try PipelineLoader().load(directory: folder) }
        #expect(errors.errors.count == 2)
        #expect(errors.description.contains("bad_one.yaml:2:"))
        #expect(errors.description.contains("bad_two.yml:3:"))
    }

    @Test func expressionsEvaluateLikeSQL() throws {
        let expression = try ExpressionParser.parse("-(quantity + 2) * unit_price_cents - 1")
        #expect(expression.evaluate { ["quantity": 3, "unit_price_cents": 10][$0] } == -51)
        #expect(expression.evaluate { _ in nil } == nil)
        #expect(try ExpressionParser.parse("a * 9223372036854775807").evaluate { _ in 2 } == .max)
        #expect(throws: ExpressionParser.Failure.self) { try ExpressionParser.parse("a + (b") }
        #expect(throws: ExpressionParser.Failure.self) { try ExpressionParser.parse("a $ b") }
    }
}
