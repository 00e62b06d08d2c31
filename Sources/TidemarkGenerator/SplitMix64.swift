/// A small seedable generator, so `tidemark generate --seed N` prints the same events everywhere.
/// (The standard library's generator cannot be seeded.)
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        self.state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool {
        Double.random(in: 0..<1, using: &self) < p
    }

    /// An index drawn with the given cumulative weights (last element is the total).
    public mutating func pick(cumulative: [Double]) -> Int {
        let target = Double.random(in: 0..<cumulative[cumulative.count - 1], using: &self)
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > target { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// A random UUID-shaped identifier (version 4 layout), reproducible from the seed.
    public mutating func uuidString() -> String {
        let high = next()
        let low = next()
        let hex = String(high, radix: 16).leftPadded(16) + String(low, radix: 16).leftPadded(16)
        let chars = Array(hex)
        return String(chars[0..<8]) + "-" + String(chars[8..<12]) + "-4" + String(chars[13..<16]) + "-"
            + String(["8", "9", "a", "b"][Int(low >> 62)]) + String(chars[17..<20]) + "-" + String(chars[20..<32])
    }
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
