import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import TidemarkTestSupport

/// A real HTTP server on 127.0.0.1 that records every webhook notification it is sent and
/// answers `500` to the first `failures` of them.
struct WebhookReceiver: Sendable {
    struct Notification: Sendable {
        var body: Data
        var headers: [String: String]
        var receivedAt: ContinuousClock.Instant
        /// What the receiver answered.
        var status: Int

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var alert: [String: Any] { json["alert"] as? [String: Any] ?? [:] }
        var type: String? { json["type"] as? String }
    }

    let received = Locked<[Notification]>([])
    let failuresLeft: Locked<Int>

    init(failures: Int = 0) {
        failuresLeft = Locked(failures)
    }

    /// The notifications answered `200`.
    var accepted: [Notification] { received.value.filter { $0.status == 200 } }

    /// Runs the receiver for `body`, which gets its URL.
    func run<Result: Sendable>(_ body: @Sendable (String) async throws -> Result) async throws -> Result {
        let router = Router()
        router.post("hook") { [received, failuresLeft] request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            let fail = failuresLeft.withLock { left in
                defer { left = max(left - 1, 0) }
                return left > 0
            }
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let status = fail ? 500 : 200
            received.withLock {
                $0.append(Notification(body: Data(bytes.readableBytesView), headers: headers, receivedAt: .now, status: status))
            }
            return Response(status: fail ? .internalServerError : .ok)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in
            try await body("http://127.0.0.1:\(client.port!)/hook")
        }
    }

    /// Waits until `count` notifications were accepted, or the deadline passes.
    @discardableResult
    func waitForAccepted(_ count: Int, within limit: Duration = .seconds(20)) async throws -> [Notification] {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if accepted.count >= count { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        return accepted
    }
}
