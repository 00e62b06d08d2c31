/// The dashboard's charts, drawn as SVG text on the server: no script library, nothing
/// fetched from elsewhere, and the numbers are in the markup for tests and screen readers.
enum SVGChart {
    /// 24 bars of today's revenue per hour and a line of the 7-day average per hour.
    static func hourly(_ values: [Int64], average: [Int64], language: Language, currency: String, currentHour: Int?) -> String {
        let width = 720.0
        let height = 240.0
        let left = 8.0
        let bottom = 22.0
        let top = 10.0
        let plotHeight = height - bottom - top
        let slot = (width - left * 2) / 24
        let maximum = Double(max(1, (values + average).max() ?? 1))
        func y(_ value: Int64) -> Double { top + plotHeight - plotHeight * Double(max(0, value)) / maximum }

        var svg = """
            <svg class="chart" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="\(escapeHTML(language.text(.revenueByHour)))" \
            preserveAspectRatio="none">
            """
        svg += "<line class=\"axis\" x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(width - left)\" y2=\"\(top + plotHeight)\"/>"
        for (hour, value) in values.enumerated() {
            let x = left + Double(hour) * slot + slot * 0.15
            let barTop = y(value)
            let label = "\(hour):00 \(language.money(cents: value, currency: currency))"
            let current = hour == currentHour ? " current" : ""
            svg += """
                <rect class="bar\(current)" data-hour="\(hour)" data-value="\(value)" x="\(format(x))" y="\(format(barTop))" \
                width="\(format(slot * 0.7))" height="\(format(top + plotHeight - barTop))"><title>\(escapeHTML(label))</title></rect>
                """
            if hour % 3 == 0 {
                svg += "<text class=\"tick\" x=\"\(format(x + slot * 0.35))\" y=\"\(format(height - 6))\">\(hour)h</text>"
            }
        }
        let points = average.enumerated().map { hour, value in "\(format(left + (Double(hour) + 0.5) * slot)),\(format(y(value)))" }
        svg += "<polyline class=\"average\" points=\"\(points.joined(separator: " "))\"/>"
        for (hour, value) in average.enumerated() {
            svg +=
                "<circle class=\"average-point\" data-hour=\"\(hour)\" data-value=\"\(value)\" cx=\"\(format(left + (Double(hour) + 0.5) * slot))\" cy=\"\(format(y(value)))\" r=\"2.5\"/>"
        }
        return svg + "</svg>"
    }

    /// Horizontal bars for a top list, longest first.
    static func ranking(_ items: [DashboardSnapshot.Ranked], kind: String, language: Language, currency: String) -> String {
        guard !items.isEmpty else { return "<p class=\"empty\">\(escapeHTML(language.text(.nothingSold)))</p>" }
        let maximum = Double(max(1, items.map(\.revenueCents).max() ?? 1))
        var html = "<ol class=\"ranking\" data-kind=\"\(kind)\">"
        for item in items {
            let share = max(0, Double(item.revenueCents)) / maximum * 100
            html += """
                <li data-name="\(escapeHTML(item.name))" data-value="\(item.revenueCents)"><span class="name">\(escapeHTML(item.name))</span>\
                <svg class="meter" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true"><rect width="\(format(share))" height="8"/></svg>\
                <span class="amount">\(escapeHTML(language.money(cents: item.revenueCents, currency: currency)))</span></li>
                """
        }
        return html + "</ol>"
    }

    private static func format(_ value: Double) -> String {
        String(Double((value * 10).rounded()) / 10)
    }
}
