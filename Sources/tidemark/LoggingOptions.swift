import ArgumentParser
import Logging

/// `--log-level` and `--log-format`, shared by every subcommand; logging is bootstrapped once, here, in `run()`.
struct LoggingOptions: ParsableArguments {
    @Option(help: "trace, debug, info, notice, warning, error or critical (env TIDEMARK_LOG_LEVEL or LOG_LEVEL; default info).")
    var logLevel: String?
    @Option(help: "text (key=value metadata) or json (one object per line) (env TIDEMARK_LOG_FORMAT; default text).")
    var logFormat: String?

    func makeLogger(label: String, settings: Settings = .environmentOnly()) throws -> Logger {
        let logLevel = settings.string("logLevel", flag: logLevel) ?? "info"
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), got \(logLevel)")
        }
        let format = settings.string("logFormat", flag: logFormat) ?? "text"
        switch format {
        case "text":
            LoggingSystem.bootstrap { label in
                var handler = DeferredMetadataLogHandler(StreamLogHandler.standardError(label: label))
                handler.logLevel = level
                return handler
            }
        case "json":
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, logLevel: level) }
        default:
            throw ValidationError("--log-format must be text or json, got \(format)")
        }
        return Logger(label: label)
    }
}
