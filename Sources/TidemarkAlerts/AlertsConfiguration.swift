/// How alerts are evaluated and notified; part of `ServerConfiguration`.
public struct AlertsConfiguration: Sendable {
    /// Every evaluation reads the merged stock; one runs at least this often (sales velocity
    /// and reorder points set on other nodes change without the local speed layer moving),
    /// and as soon as the speed layer has new events.
    public var evaluationInterval: Duration = .seconds(5)
    public var webhook = WebhookConfiguration()

    public init() {}

    /// How often the speed layer is looked at for new events between evaluations.
    public var changeCheckInterval: Duration { min(evaluationInterval, .milliseconds(250)) }
}

/// Where and how notifications go.
public struct WebhookConfiguration: Sendable {
    /// Each transition is posted to every URL; none means alerts are recorded but not sent.
    public var urls: [String] = []
    /// Keys the `X-Tidemark-Signature` HMAC; required when `urls` is not empty.
    public var secret: String = ""
    /// Attempts per notification before it is given up (`failed_at`).
    public var maxAttempts = 8
    /// The wait after the first failed attempt; it doubles after each, up to `maxBackoff`.
    public var initialBackoff: Duration = .seconds(1)
    public var maxBackoff: Duration = .seconds(300)
    /// One attempt's limit, connection and answer included.
    public var timeout: Duration = .seconds(10)
    /// How often due notifications are looked for (other nodes' transitions, retries).
    public var pollInterval: Duration = .seconds(1)

    public init() {}

    /// The wait after failed attempt number `attempts` (from 1): initial, doubled each time, capped.
    public func backoff(afterAttempt attempts: Int) -> Duration {
        var wait = initialBackoff
        for _ in 1..<max(attempts, 1) {
            wait *= 2
            if wait >= maxBackoff { return maxBackoff }
        }
        return min(wait, maxBackoff)
    }

    /// A claimed notification nobody has answered for this long is claimed again: the node
    /// that held it must have died. Longer than any attempt can take.
    public var lease: Duration { timeout * 2 + .seconds(30) }
}
