import TidemarkEvents

/// What the dashboard shows for one day, store and category: everything read, nothing rendered.
public struct DashboardSnapshot: Sendable {
    /// Net revenue, net units and sale lines.
    public struct Figures: Sendable, Equatable {
        public var revenueCents: Int64 = 0
        public var units: Int64 = 0
        public var saleLines: Int64 = 0
    }

    public struct Ranked: Sendable, Equatable {
        public var name: String
        public var revenueCents: Int64
    }

    public struct StoreRow: Sendable, Equatable {
        public var store: String
        public var figures: Figures
        public var yesterdayRevenueCents: Int64
    }

    public var filter: DashboardFilter
    /// The end of the figures: now for today, the day's end for a past day.
    public var asOf: Timestamp
    public var isToday: Bool
    public var day = Figures()
    public var yesterday = Figures()
    /// Net revenue per UTC hour of the day (24 values), and the same hour's mean over the 7 days before.
    public var hourly: [Int64] = Array(repeating: 0, count: 24)
    public var sevenDayAverage: [Int64] = Array(repeating: 0, count: 24)
    public var topProductsDay: [Ranked] = []
    public var topProductsHour: [Ranked] = []
    public var topCategoriesDay: [Ranked] = []
    public var topCategoriesHour: [Ranked] = []
    public var stores: [StoreRow] = []
    public var storeChoices: [String] = []
    public var categoryChoices: [String] = []
    public var alerts: [DashboardAlert] = []
    public var newestEventAgeSeconds: Int64?
    public var watermarkAgeSeconds: Int64?
    public var speedEvents = 0
}

/// The day, store and category a page shows, in a language.
public struct DashboardFilter: Sendable, Equatable {
    /// Midnight UTC of the day shown.
    public var day: Timestamp
    public var store: String?
    public var category: String?
    public var language: Language

    public init(day: Timestamp, store: String? = nil, category: String? = nil, language: Language = .english) {
        self.day = day
        self.store = store
        self.category = category
        self.language = language
    }

    var dayText: String { String(day.rfc3339.prefix(10)) }

    /// The page's own parameters, to keep them in links and in the refresh.
    func parameters(language: Language? = nil) -> [(String, String?)] {
        [("date", dayText), ("store_id", store), ("category", category), ("lang", (language ?? self.language).rawValue)]
    }
}

/// One active alert, as the dashboard lists it.
public struct DashboardAlert: Sendable, Equatable {
    public var kind: String
    public var store: String
    public var product: String
    public var onHand: Int64?
    public var reorderPoint: Int64?
    public var firedAt: Timestamp

    public init(kind: String, store: String, product: String, onHand: Int64?, reorderPoint: Int64?, firedAt: Timestamp) {
        self.kind = kind
        self.store = store
        self.product = product
        self.onHand = onHand
        self.reorderPoint = reorderPoint
        self.firedAt = firedAt
    }
}
