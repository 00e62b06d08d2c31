import HTTPTypes

extension HTTPField.Name {
    /// `X-Request-Id`, the id a request's log lines carry. Made once: `HTTPField.Name(_:)`
    /// checks the name's characters every time.
    public static let requestID = HTTPField.Name("X-Request-Id")!
}
