import Benchmark
import Foundation
import TidemarkEvents
import TidemarkGenerator
import TidemarkPipelines
import TidemarkRawLog
import TidemarkSpeed

/// The server's own work per event on the ingest path, without HTTP or PostgreSQL: decoding and
/// validating a request body, and the speed layer's fold of what the tailer reads back.
/// Each benchmark handles 1,000 generated events per iteration (so `throughput` × 1,000 is events/s).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal, .instructions],
        warmupIterations: 3,
        maxDuration: .seconds(3),
        maxIterations: 2_000
    )
    let sample = Sample.make()

    Benchmark("Decode and validate a 1,000-event NDJSON body") { benchmark in
        let decoder = EventBodyDecoder()
        let validator = EventValidator(rules: ValidationRules())
        for _ in benchmark.scaledIterations {
            let wire = try decoder.decode(sample.body, format: .ndjson)
            guard case .success(let events) = validator.validate(wire, now: sample.now), events.count == sample.events.count else {
                fatalError("the sample body no longer validates")
            }
            blackHole(events)
        }
    }

    Benchmark("Fold 1,000 read-back events into the shipped views") { benchmark in
        let speed = SpeedLayer(catalog: sample.catalog, now: { sample.now })
        var nextSeq: Int64 = 0
        func positioned() -> [LoggedEvent] {
            sample.events.map { event in
                nextSeq += 1
                return LoggedEvent(seq: nextSeq, event: event)
            }
        }
        // New positions each time (the layer skips what it has folded), same rows: after this
        // first fold the views stop growing, as during a steady day.
        speed.fold(positioned())
        for _ in benchmark.scaledIterations {
            let logged = positioned()
            benchmark.startMeasurement()
            speed.fold(logged)
            benchmark.stopMeasurement()
        }
    }
}

/// 1,000 events of a generated day (sales, returns, stock and price changes, as in sample-data/).
struct Sample {
    var events: [Event]
    var body: Data
    var catalog: PipelineCatalog
    /// After every event, so that none is refused as being in the future.
    var now: Timestamp

    static func make() -> Sample {
        var configuration = GeneratorConfiguration(firstDay: Timestamp(secondsSinceEpoch: 1_795_000_000 / 86_400 * 86_400))
        configuration.eventsPerDay = 20_000
        var generator = RetailGenerator(configuration: configuration)
        guard let day = generator.nextDay() else { fatalError("the generator made no day") }
        let events = Array(day.prefix(1_000))
        let pipelines = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "../../../Pipelines").standardized.path
        do {
            return Sample(
                events: events, body: try Event.ndjson(events), catalog: try PipelineLoader().load(directory: pipelines),
                now: Timestamp(secondsSinceEpoch: 1_795_000_000 / 86_400 * 86_400 + 2 * 86_400))
        } catch {
            fatalError("cannot prepare the benchmark sample: \(error)")
        }
    }
}
