/// The deployment's settings that decide whether an event is valid.
public struct ValidationRules: Sendable {
    /// ISO 4217 code every sale and return must be in (when it names one).
    public var currency: String
    /// How far ahead of the server's clock `occurred_at` may be.
    public var maxFutureSkewSeconds: Int64

    public static let maxIDLength = 128
    public static let maxKeyLength = 64
    public static let maxAttributeLength = 128
    /// Bounds keep `quantity * unit_price_cents` and its sums far inside 64 bits.
    public static let maxSaleQuantity: Int64 = 1_000_000
    public static let maxStockQuantity: Int64 = 1_000_000_000
    public static let maxPriceCents: Int64 = 10_000_000_000

    public init(currency: String = "USD", maxFutureSkewSeconds: Int64 = 300) {
        self.currency = currency
        self.maxFutureSkewSeconds = maxFutureSkewSeconds
    }
}
