import Foundation
import Logging
import NIOCore
import Testing
import TidemarkEvents
import TidemarkGenerator
import TidemarkIngest
import TidemarkLoader
import TidemarkServer
import TidemarkTestSupport

@Suite struct LoaderTests {
    /// Writes a generated day (it holds repeated ids) as .ndjson.gz and returns its path and distinct id count.
    func generatedFile(events: Int) throws -> (path: String, lines: Int, distinct: Int) {
        var configuration = GeneratorConfiguration(firstDay: try Timestamp(rfc3339: "2026-11-19T00:00:00Z"))
        configuration.seed = 11
        configuration.eventsPerDay = events
        var generator = RetailGenerator(configuration: configuration)
        guard let day = generator.nextDay() else { throw GeneratorProducedNothing() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tidemark-load-\(UUID().uuidString).ndjson.gz").path
        let writer = try NDJSONWriter(path: path)
        try writer.write(ByteBuffer(bytes: try Event.ndjson(day)))
        try writer.close()
        return (path, day.count, Set(day.map(\.id)).count)
    }

    @Test func loadsGzipFilesOnceEvenWhenRepeated() async throws {
        let file = try generatedFile(events: 6_000)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        #expect(file.distinct < file.lines, "the generated day should repeat some ids")
        try await TestServer.run { server in
            var configuration = LoadConfiguration(baseURL: server.http.baseURL)
            configuration.batchSize = 500
            configuration.concurrency = 3
            let loader = Loader(configuration: configuration, logger: TestServer.quietLogger)
            let first = try await loader.load(files: [file.path])
            #expect(first.events == file.lines)
            // A request that timed out after committing comes back as duplicates on its retry.
            if first.retries == 0 { #expect(first.accepted == file.distinct) }
            #expect(first.accepted + first.duplicates == file.lines)
            #expect(first.isComplete)
            let again = try await loader.load(files: [file.path])
            #expect(again.accepted == 0)
            #expect(again.duplicates == file.lines)
            #expect(try await server.eventCount() == file.distinct)
        }
    }

    /// With a queue that holds almost nothing, concurrent batches are refused with 429; the
    /// loader must retry them with the same ids until everything is stored, once.
    @Test func retriesOverloadedRequestsUntilStored() async throws {
        let file = try generatedFile(events: 3_000)
        defer { try? FileManager.default.removeItem(atPath: file.path) }
        try await TestServer.run(configure: { $0.groupCommit.queueCapacity = 1 }) { server in
            var configuration = LoadConfiguration(baseURL: server.http.baseURL)
            configuration.batchSize = 100
            configuration.concurrency = 8
            configuration.maxAttempts = 50
            let summary = try await Loader(configuration: configuration, logger: TestServer.quietLogger).load(files: [file.path])
            #expect(summary.retries > 0, "the tiny queue should have refused some batches")
            #expect(summary.isComplete, "\(summary.errors)")
            #expect(summary.accepted == file.distinct)
            #expect(try await server.eventCount() == file.distinct)
        }
    }
}

struct GeneratorProducedNothing: Error {}
