import Logging
import TidemarkRawLog

extension RawLogWriter: EventStore {}
