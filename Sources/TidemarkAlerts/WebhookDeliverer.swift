import AsyncHTTPClient
import CoreMetrics
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import TidemarkAPI
import TidemarkEvents

/// Posts queued notifications to their URLs: signed JSON, retried with exponential backoff
/// up to `maxAttempts`, each claimed by one node at a time (see `WebhookDeliveryStore.claim`).
/// A notification is sent again only when its attempt's outcome could not be recorded (the
/// node died or lost the database mid-attempt): receivers can tell by `X-Tidemark-Delivery`.
public final class WebhookDeliverer: Service, Sendable {
    let store: WebhookDeliveryStore
    let configuration: WebhookConfiguration
    let signature: WebhookSignature
    let metrics: any MetricsFactory
    let logger: Logger
    private let woken = Mutex(false)

    /// Notifications claimed at once; each is sent concurrently with the others.
    static let batchSize = 16

    public init(store: WebhookDeliveryStore, configuration: WebhookConfiguration, metrics: any MetricsFactory, logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.signature = WebhookSignature(secret: configuration.secret)
        self.metrics = metrics
        self.logger = logger
    }

    /// Look for due notifications now (an evaluation just queued some).
    public func wake() {
        woken.withLock { $0 = true }
    }

    public func run() async throws {
        // Without URLs this node has no secret to sign with; nodes that have them deliver.
        guard !configuration.urls.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        let http = HTTPClient(
            eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))
        do {
            try await deliverUntilStopped(http)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    private func deliverUntilStopped(_ http: HTTPClient) async throws {
        var lastFailureLogged: ContinuousClock.Instant?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let claimed = try await store.claim(limit: Self.batchSize, lease: configuration.lease)
                await withTaskGroup(of: Void.self) { group in
                    for delivery in claimed { group.addTask { await self.attempt(delivery, http: http) } }
                }
                lastFailureLogged = nil
                if claimed.count == Self.batchSize { continue }
            } catch {
                if Task.isCancelled { break }
                if lastFailureLogged.map({ $0.duration(to: .now) > .seconds(30) }) ?? true {
                    logger.warning("webhook notifications cannot be read; retrying", metadata: ["error": "\(String(reflecting: error))"])
                    lastFailureLogged = .now
                }
            }
            // Until woken or the poll interval passes (short slices, like the speed tailer).
            let deadline = ContinuousClock.now + configuration.pollInterval
            while ContinuousClock.now < deadline, !Task.isCancelled {
                if woken.withLock({ flag in
                    defer { flag = false }
                    return flag
                }) {
                    break
                }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    /// One attempt, and its outcome recorded.
    func attempt(_ delivery: ClaimedDelivery, http: HTTPClient) async {
        let now = Timestamp(secondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch / 1_000_000)
        let failure: String?
        do {
            let body = try WebhookPayload(delivery, sentAt: now).encoded()
            var request = HTTPClientRequest(url: delivery.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "tidemark-webhook")
            request.headers.add(name: WebhookSignature.headerName, value: signature.header(for: body))
            request.headers.add(name: WebhookSignature.timestampHeaderName, value: String(now.microsecondsSinceEpoch / 1_000_000))
            request.headers.add(name: "X-Tidemark-Delivery", value: String(delivery.id))
            request.headers.add(name: "X-Tidemark-Event", value: "alert.\(delivery.transition.rawValue)")
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await http.execute(request, timeout: TimeAmount(configuration.timeout))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            failure = (200..<300).contains(Int(response.status.code)) ? nil : "HTTP \(response.status.code)"
        } catch {
            failure = "\(error)"
        }
        let outcome: String
        do {
            if let failure {
                let giveUp = delivery.attempt >= configuration.maxAttempts
                try await store.markFailed(
                    delivery.id, error: failure, retryAfter: configuration.backoff(afterAttempt: delivery.attempt), giveUp: giveUp)
                outcome = giveUp ? "failed" : "retry"
                logger.log(
                    level: giveUp ? .error : .warning, giveUp ? "webhook notification given up" : "webhook notification failed; retrying",
                    metadata: ["delivery": "\(delivery.id)", "url": "\(delivery.url)", "attempt": "\(delivery.attempt)", "error": "\(failure)"])
            } else {
                try await store.markDelivered(delivery.id)
                outcome = "delivered"
            }
        } catch {
            // Claimed with a lease: another attempt follows when it ends.
            logger.warning("webhook outcome not recorded", metadata: ["delivery": "\(delivery.id)", "error": "\(error)"])
            outcome = "unrecorded"
        }
        Counter(label: "tidemark_webhook_deliveries_total", dimensions: [("outcome", outcome)], factory: metrics).increment()
    }
}

/// The JSON body of a notification.
struct WebhookPayload: Encodable {
    var type: String
    var deliveryID: Int64
    var attempt: Int
    var sentAt: String
    var alert: AlertBody

    init(_ delivery: ClaimedDelivery, sentAt: Timestamp) {
        type = "alert.\(delivery.transition.rawValue)"
        deliveryID = delivery.id
        attempt = delivery.attempt
        self.sentAt = sentAt.rfc3339
        var alert = delivery.alert
        if delivery.transition == .fired {
            // As it was when it fired, even when sent after it resolved (retries).
            alert.state = .firing
            alert.resolvedAt = nil
        }
        self.alert = AlertBody(alert)
    }

    enum CodingKeys: String, CodingKey {
        case type, attempt, alert
        case deliveryID = "delivery_id"
        case sentAt = "sent_at"
    }

    func encoded() throws -> Data {
        try JSONEncoder.api.encode(self)
    }
}
