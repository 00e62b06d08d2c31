import ArgumentParser
import Logging

/// `--log-level`, shared by every subcommand; logging is bootstrapped once, here, in `run()`.
struct LoggingOptions: ParsableArguments {
    @Option(help: "trace, debug, info, notice, warning, error or critical (env TIDEMARK_LOG_LEVEL or LOG_LEVEL; default info).")
    var logLevel: String?

    func makeLogger(label: String, settings: Settings = .environmentOnly()) throws -> Logger {
        let logLevel = settings.string("logLevel", flag: logLevel) ?? "info"
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), got \(logLevel)")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}
