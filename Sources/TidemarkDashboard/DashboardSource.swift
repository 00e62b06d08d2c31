import Logging
import PostgresNIO
import TidemarkBatch
import TidemarkEvents
import TidemarkPipelines
import TidemarkRawLog
import TidemarkServing

/// Reads a `DashboardSnapshot` from merged views, the same answers the API gives: the
/// dashboard has no numbers of its own.
public struct DashboardSource: Sendable {
    static let hour: Int64 = 3_600_000_000
    static let day: Int64 = 86_400_000_000
    /// The views the dashboard needs; `Pipelines/` ships them.
    static let salesView = "sales_by_store_category_hour"
    static let productView = "sales_by_product_hour"
    static let productCategoriesView = "product_categories"
    static let topCount = 8

    let engine: QueryEngine
    let catalog: PipelineCatalog
    let client: PostgresClient
    let logger: Logger
    let now: @Sendable () -> Timestamp
    let alerts: @Sendable () async throws -> [DashboardAlert]
    /// The speed layer's minute windows: "the last hour" of today is exactly 60 minutes.
    let rolling: RollingEngine?

    public init(
        engine: QueryEngine, catalog: PipelineCatalog, client: PostgresClient, logger: Logger, now: @escaping @Sendable () -> Timestamp = { .now() },
        rolling: RollingEngine? = nil, alerts: @escaping @Sendable () async throws -> [DashboardAlert] = { [] }
    ) {
        self.rolling = rolling
        self.engine = engine
        self.catalog = catalog
        self.client = client
        self.logger = logger
        self.now = now
        self.alerts = alerts
    }

    /// Whether `Pipelines/` still holds the views the dashboard reads.
    public var missingViews: [String] {
        [Self.salesView, Self.productView, Self.productCategoriesView].filter { catalog.view(named: $0) == nil }
    }

    public func snapshot(_ filter: DashboardFilter) async throws -> DashboardSnapshot {
        let now = now().microsecondsSinceEpoch
        let dayStart = filter.day.microsecondsSinceEpoch
        let isToday = now >= dayStart && now < dayStart + Self.day
        let asOf = min(max(now, dayStart), dayStart + Self.day)
        // Whole hours: the views' buckets. For today the current, partial hour is included,
        // and yesterday is cut at the same hour.
        let cutoff = min(dayStart + Self.day, (asOf + Self.hour - 1) / Self.hour * Self.hour)
        var snapshot = DashboardSnapshot(filter: filter, asOf: Timestamp(microsecondsSinceEpoch: asOf), isToday: isToday)
        var salesFilters: [KeyField: Set<String>] = [:]
        if let store = filter.store { salesFilters[.storeID] = [store] }
        if let category = filter.category { salesFilters[.category] = [category] }

        let day = try await sales(from: dayStart, to: cutoff, groupBy: [], filters: salesFilters)
        snapshot.day = day.rows.first.map { Self.figures($0.values) } ?? .init()
        snapshot.speedEvents = day.speedEvents
        if let published = day.publishedAtMicros { snapshot.watermarkAgeSeconds = max(0, (now - published) / 1_000_000) }
        let yesterday = try await sales(from: dayStart - Self.day, to: cutoff - Self.day, groupBy: [], filters: salesFilters)
        snapshot.yesterday = yesterday.rows.first.map { Self.figures($0.values) } ?? .init()

        for row in try await sales(from: dayStart, to: dayStart + Self.day, grain: .bucket(.hour), groupBy: [], filters: salesFilters).rows {
            guard let bucket = row.bucket else { continue }
            snapshot.hourly[Int((bucket - dayStart) / Self.hour)] = Self.figures(row.values).revenueCents
        }
        var weekTotals = Array(repeating: Int64(0), count: 24)
        for row in try await sales(from: dayStart - 7 * Self.day, to: dayStart, grain: .bucket(.hour), groupBy: [], filters: salesFilters).rows {
            guard let bucket = row.bucket else { continue }
            weekTotals[Int(((bucket - dayStart) % Self.day + Self.day) % Self.day / Self.hour)] += Self.figures(row.values).revenueCents
        }
        snapshot.sevenDayAverage = weekTotals.map { $0 / 7 }

        let order = AnswerOrder(column: "net_revenue_cents", descending: true, limit: Self.topCount)
        snapshot.topCategoriesDay = try await ranked(
            sales(from: dayStart, to: cutoff, groupBy: [.category], filters: salesFilters, order: order).rows)
        if let rolled = lastHour(Self.salesView, now: now, isToday: isToday, groupBy: .category, filters: salesFilters) {
            snapshot.topCategoriesHour = rolled
        } else {
            snapshot.topCategoriesHour = try await ranked(
                sales(from: cutoff - Self.hour, to: cutoff, groupBy: [.category], filters: salesFilters, order: order).rows)
        }
        var productFilters: [KeyField: Set<String>] = [:]
        if let store = filter.store { productFilters[.storeID] = [store] }
        if let category = filter.category { productFilters[.productID] = try await products(in: category) }
        if productFilters[.productID]?.isEmpty != true {
            snapshot.topProductsDay = try await ranked(
                query(Self.productView, from: dayStart, to: cutoff, groupBy: [.productID], filters: productFilters, order: order).rows)
            if let rolled = lastHour(Self.productView, now: now, isToday: isToday, groupBy: .productID, filters: productFilters) {
                snapshot.topProductsHour = rolled
            } else {
                snapshot.topProductsHour = try await ranked(
                    query(Self.productView, from: cutoff - Self.hour, to: cutoff, groupBy: [.productID], filters: productFilters, order: order).rows)
            }
        }

        var categoryOnly: [KeyField: Set<String>] = [:]
        if let category = filter.category { categoryOnly[.category] = [category] }
        let storeDay = try await sales(from: dayStart, to: cutoff, groupBy: [.storeID], filters: categoryOnly).rows
        let storeYesterday = try await sales(from: dayStart - Self.day, to: cutoff - Self.day, groupBy: [.storeID], filters: categoryOnly).rows
        let yesterdayByStore = Dictionary(storeYesterday.map { ($0.keys[0], Self.figures($0.values).revenueCents) }, uniquingKeysWith: +)
        snapshot.stores = storeDay.map {
            DashboardSnapshot.StoreRow(store: $0.keys[0], figures: Self.figures($0.values), yesterdayRevenueCents: yesterdayByStore[$0.keys[0]] ?? 0)
        }.filter { filter.store == nil || $0.store == filter.store }.sorted { $0.store < $1.store }

        // Choices from the last week, so a store that sold nothing today can still be picked.
        let recent = try await sales(from: dayStart - 7 * Self.day, to: dayStart + Self.day, groupBy: [.storeID, .category], filters: [:]).rows
        snapshot.storeChoices = Set(recent.map { $0.keys[0] }).sorted()
        snapshot.categoryChoices = Set(recent.map { $0.keys[1] }).sorted()
        snapshot.alerts = try await alerts().filter { filter.store == nil || $0.store == filter.store }
        snapshot.newestEventAgeSeconds = try await newestEventAge()
        return snapshot
    }

    private func sales(
        from: Int64, to: Int64, grain: QueryGrain = .all, groupBy: [KeyField], filters: [KeyField: Set<String>], order: AnswerOrder = AnswerOrder()
    ) async throws -> (rows: [(bucket: Int64?, keys: [String], values: [String: Int64])], speedEvents: Int, publishedAtMicros: Int64?) {
        try await query(Self.salesView, from: from, to: to, grain: grain, groupBy: groupBy, filters: filters, order: order)
    }

    private func query(
        _ view: String, from: Int64, to: Int64, grain: QueryGrain = .all, groupBy: [KeyField], filters: [KeyField: Set<String>],
        order: AnswerOrder = AnswerOrder()
    ) async throws -> (rows: [(bucket: Int64?, keys: [String], values: [String: Int64])], speedEvents: Int, publishedAtMicros: Int64?) {
        guard let definition = catalog.view(named: view) else { throw MissingView(name: view) }
        let query = ViewQuery(view: view, fromBucket: from, toBucket: max(from, to), grain: grain, groupBy: groupBy, filters: filters)
        let answer = try await engine.answer(definition, query, order: order)
        let names = definition.measures.map(\.name)
        let rows = answer.rows.map { row in
            (row.bucket, row.keys, Dictionary(uniqueKeysWithValues: zip(names, row.values).compactMap { name, value in value.map { (name, $0) } }))
        }
        return (rows, answer.speedEvents, answer.batch?.publishedAtMicros)
    }

    /// Today's top-N of the last 60 minutes from the rolling windows; nil for a past day (its
    /// last hour bucket stands in) or while the windows are still loading.
    private func lastHour(_ view: String, now: Int64, isToday: Bool, groupBy key: KeyField, filters: [KeyField: Set<String>]) -> [DashboardSnapshot
        .Ranked]?
    {
        guard isToday, let rolling, let definition = catalog.view(named: view),
            let revenue = definition.measures.firstIndex(where: { $0.name == "net_revenue_cents" })
        else { return nil }
        let request = RollingRequest(
            definition: definition, window: RollingWindow(endingWithMinuteOf: now, minutes: 60), groupBy: [key], filters: filters,
            order: RollingOrder(column: .current(revenue), descending: true, trendMeasure: revenue), limit: Self.topCount)
        return rolling.answer(request)?.rows.compactMap { row in
            guard let cents = row.current[revenue], cents != 0 else { return nil }
            return DashboardSnapshot.Ranked(name: row.keys[0], revenueCents: cents)
        }
    }

    private func products(in category: String) async throws -> Set<String> {
        guard let definition = catalog.view(named: Self.productCategoriesView) else { throw MissingView(name: Self.productCategoriesView) }
        let query = ViewQuery(view: definition.name, grain: nil, groupBy: [.productID], filters: [.category: [category]])
        return Set(try await engine.answer(definition, query).rows.map { $0.keys[0] })
    }

    private func ranked(_ rows: [(bucket: Int64?, keys: [String], values: [String: Int64])]) -> [DashboardSnapshot.Ranked] {
        rows.map { DashboardSnapshot.Ranked(name: $0.keys[0], revenueCents: $0.values["net_revenue_cents"] ?? 0) }
    }

    static func figures(_ values: [String: Int64]) -> DashboardSnapshot.Figures {
        DashboardSnapshot.Figures(
            revenueCents: values["net_revenue_cents"] ?? 0, units: values["net_units"] ?? 0, saleLines: values["sale_lines"] ?? 0)
    }

    /// Seconds since the newest event was received (the raw log's last row), or nil for an empty log.
    private func newestEventAge() async throws -> Int64? {
        let rows = try await client.boundedQuery(
            "SELECT (extract(epoch FROM clock_timestamp() - received_at))::bigint FROM events ORDER BY seq DESC LIMIT 1", logger: logger)
        for try await age in rows.decode(Int64.self) { return max(0, age) }
        return nil
    }

    public struct MissingView: Error, CustomStringConvertible {
        public var name: String
        public var description: String { "the dashboard needs the view \(name), which is not in Pipelines/" }
    }
}
