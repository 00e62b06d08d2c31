import Foundation

/// Text made safe for HTML content and attribute values (double-quoted).
func escapeHTML(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(character)
        }
    }
    return out
}

/// A query string from parameters, percent-encoded, empty values left out.
func queryString(_ parameters: [(String, String?)]) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    let pairs = parameters.compactMap { name, value -> String? in
        guard let value, !value.isEmpty else { return nil }
        return name + "=" + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)
    }
    return pairs.isEmpty ? "" : "?" + pairs.joined(separator: "&")
}
