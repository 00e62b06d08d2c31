import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// How `tidemark load` posts files.
public struct LoadConfiguration: Sendable {
    /// Base URL of the server, e.g. `http://127.0.0.1:8080`.
    public var baseURL: String
    public var apiKey: String?
    public var batchSize: Int = 1_000
    public var concurrency: Int = 4
    /// Attempts per batch before giving up on it (429, 503, timeouts and lost connections are retried).
    public var maxAttempts: Int = 10
    public var requestTimeout: TimeAmount = .seconds(60)

    public init(baseURL: String) {
        self.baseURL = baseURL
    }
}

/// Counts of a finished load.
public struct LoadSummary: Sendable, Equatable {
    public var events = 0
    public var accepted = 0
    public var duplicates = 0
    /// Events in batches the server refused as invalid (not retried).
    public var rejected = 0
    /// Events in batches that still failed after every attempt.
    public var failed = 0
    public var retries = 0
    public var errors: [String] = []

    public init() {}

    public var isComplete: Bool { rejected == 0 && failed == 0 }
}

/// Posts NDJSON files in batches over several connections, retrying with the same ids so a
/// retried batch is stored once.
public struct Loader: Sendable {
    public let configuration: LoadConfiguration
    private let client: HTTPClient
    private let logger: Logger

    public init(configuration: LoadConfiguration, client: HTTPClient = .shared, logger: Logger) {
        self.configuration = configuration
        self.client = client
        self.logger = logger
    }

    /// - Parameter progress: called with (events done, events in total) as batches finish.
    public func load(files: [String], progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) async throws -> LoadSummary {
        var batches: [(body: ByteBuffer, count: Int)] = []
        for file in files {
            let lines = try NDJSONReader.lines(ofFile: file)
            var index = 0
            while index < lines.count {
                let chunk = lines[index..<min(index + configuration.batchSize, lines.count)]
                var body = ByteBuffer()
                body.reserveCapacity(chunk.reduce(0) { $0 + $1.readableBytes + 1 })
                for var line in chunk {
                    body.writeBuffer(&line)
                    body.writeInteger(UInt8(ascii: "\n"))
                }
                batches.append((body, chunk.count))
                index += configuration.batchSize
            }
        }
        let total = batches.reduce(0) { $0 + $1.count }
        var summary = LoadSummary()
        summary.events = total
        var done = 0
        try await withThrowingTaskGroup(of: BatchOutcome.self) { group in
            var next = 0
            func addNext() {
                guard next < batches.count else { return }
                let batch = batches[next]
                next += 1
                group.addTask { await self.post(batch.body, count: batch.count) }
            }
            for _ in 0..<max(1, configuration.concurrency) { addNext() }
            while let outcome = try await group.next() {
                summary.accepted += outcome.accepted
                summary.duplicates += outcome.duplicates
                summary.rejected += outcome.rejected
                summary.failed += outcome.failed
                summary.retries += outcome.retries
                if let error = outcome.error, summary.errors.count < 20 { summary.errors.append(error) }
                done += outcome.count
                progress(done, total)
                addNext()
            }
        }
        return summary
    }

    private struct BatchOutcome: Sendable {
        var count: Int
        var accepted = 0
        var duplicates = 0
        var rejected = 0
        var failed = 0
        var retries = 0
        var error: String?
    }

    private struct Receipt: Decodable {
        var accepted: Int
        var duplicates: Int
    }

    private func post(_ body: ByteBuffer, count: Int) async -> BatchOutcome {
        var outcome = BatchOutcome(count: count)
        var request = HTTPClientRequest(url: configuration.baseURL.trimmingSuffix("/") + "/v1/events")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-ndjson")
        if let apiKey = configuration.apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        request.body = .bytes(body)
        var lastProblem = ""
        for attempt in 1...max(1, configuration.maxAttempts) {
            if attempt > 1 { outcome.retries += 1 }
            var retryAfter: Double?
            do {
                let response = try await client.execute(request, timeout: configuration.requestTimeout, logger: logger)
                let answer = try await response.body.collect(upTo: 1 << 20)
                switch response.status.code {
                case 200:
                    let receipt = try JSONDecoder().decode(Receipt.self, from: Data(answer.readableBytesView))
                    outcome.accepted = receipt.accepted
                    outcome.duplicates = receipt.duplicates
                    return outcome
                case 429, 502, 503, 504:
                    lastProblem = "HTTP \(response.status.code)"
                    retryAfter = response.headers.first(name: "Retry-After").flatMap(Double.init)
                default:
                    outcome.rejected = count
                    outcome.error = "HTTP \(response.status.code): \(String(buffer: answer).prefix(2_000))"
                    return outcome
                }
            } catch {
                lastProblem = "\(error)"
            }
            // Exponential backoff with jitter, at least what the server asked for.
            let backoff = min(10.0, 0.2 * pow(2.0, Double(attempt - 1))) * Double.random(in: 0.5...1.0)
            logger.debug("retrying batch", metadata: ["attempt": "\(attempt)", "problem": "\(lastProblem)"])
            try? await Task.sleep(for: .seconds(max(backoff, retryAfter ?? 0)))
        }
        outcome.failed = count
        outcome.error = "gave up after \(configuration.maxAttempts) attempts: \(lastProblem)"
        return outcome
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
