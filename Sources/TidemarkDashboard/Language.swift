import Foundation

/// The dashboard's languages. Money is always in the events' currency; only its format
/// follows the language (`$1,234.56` against `US$ 1.234,56`).
public enum Language: String, Sendable, CaseIterable {
    case english = "en"
    case portuguese = "pt-BR"

    /// `lang=` wins; else the first of `Accept-Language` that is Portuguese; else English.
    public init(parameter: String?, acceptLanguage: String?) {
        if let parameter, let chosen = Language(rawValue: parameter) {
            self = chosen
        } else if let accept = acceptLanguage?.lowercased(), accept.split(separator: ",").first?.hasPrefix("pt") == true {
            self = .portuguese
        } else {
            self = .english
        }
    }

    var locale: Locale { Locale(identifier: self == .english ? "en_US" : "pt_BR") }

    /// The other language, for the switch.
    var other: Language { self == .english ? .portuguese : .english }

    var name: String { self == .english ? "English" : "Português (Brasil)" }

    func text(_ key: TextKey) -> String {
        let pair = TextKey.table[key] ?? ("\(key)", "\(key)")
        return self == .english ? pair.0 : pair.1
    }

    func money(cents: Int64, currency: String) -> String {
        (Decimal(cents) / 100).formatted(.currency(code: currency).locale(locale))
    }

    func number(_ value: Int64) -> String {
        value.formatted(.number.locale(locale))
    }

    /// A signed change in percent, or an em dash when there is nothing to compare with.
    func change(_ current: Int64, against previous: Int64) -> String {
        guard previous != 0 else { return current == 0 ? "0%" : "—" }
        let ratio = Double(current - previous) / Double(abs(previous))
        return (ratio >= 0 ? "+" : "") + ratio.formatted(.percent.precision(.fractionLength(1)).locale(locale))
    }

    func duration(seconds: Int64) -> String {
        switch seconds {
        case ..<120: "\(seconds) s"
        case ..<7200: "\(seconds / 60) min"
        case ..<172_800: "\(seconds / 3600) h"
        default: "\(seconds / 86400) " + text(.days)
        }
    }
}

/// Every piece of dashboard text, in both languages.
enum TextKey: Hashable {
    case title, signInTitle, signInHelp, apiKey, signIn, signOut, store, category, allStores, allCategories, date, apply
    case revenue, units, saleLines, sameTimeYesterday, revenueByHour, today, sevenDayAverage, topProducts, topCategories
    case lastHour, thisDay, perStore, net, change, alerts, noAlerts, alertKind, product, onHand, reorderPoint, since
    case freshness, newestEvent, batchWatermark, speedEvents, never, updated, days, dailyReport, asOf, nothingSold
    case stockOut, lowStock, projectedStockOut, hour, print, total, grossRevenue, refunds, unitsReturned, storeTotal
    case reportTitle, noBatchYet

    static let table: [TextKey: (String, String)] = [
        .title: ("Tidemark: sales and stock", "Tidemark: vendas e estoque"),
        .signInTitle: ("Sign in to the dashboard", "Entrar no painel"),
        .signInHelp: (
            "Paste an API key with the query scope. It is exchanged for a session cookie and never kept in this page.",
            "Cole uma chave de API com o escopo query. Ela é trocada por um cookie de sessão e nunca fica guardada nesta página."
        ),
        .apiKey: ("API key", "Chave de API"),
        .signIn: ("Sign in", "Entrar"),
        .signOut: ("Sign out", "Sair"),
        .store: ("Store", "Loja"),
        .category: ("Category", "Categoria"),
        .allStores: ("All stores", "Todas as lojas"),
        .allCategories: ("All categories", "Todas as categorias"),
        .date: ("Day", "Dia"),
        .apply: ("Apply", "Aplicar"),
        .revenue: ("Net revenue", "Receita líquida"),
        .units: ("Net units", "Unidades líquidas"),
        .saleLines: ("Sale lines", "Linhas de venda"),
        .sameTimeYesterday: ("vs same time yesterday", "vs mesmo horário ontem"),
        .revenueByHour: ("Net revenue by hour", "Receita líquida por hora"),
        .today: ("This day", "Este dia"),
        .sevenDayAverage: ("7-day average", "Média de 7 dias"),
        .topProducts: ("Top products", "Produtos mais vendidos"),
        .topCategories: ("Top categories", "Categorias mais vendidas"),
        .lastHour: ("last hour", "última hora"),
        .thisDay: ("this day", "este dia"),
        .perStore: ("Stores", "Lojas"),
        .net: ("Net", "Líquido"),
        .change: ("Change", "Variação"),
        .alerts: ("Active alerts", "Alertas ativos"),
        .noAlerts: ("No active alerts.", "Nenhum alerta ativo."),
        .alertKind: ("Alert", "Alerta"),
        .product: ("Product", "Produto"),
        .onHand: ("On hand", "Em estoque"),
        .reorderPoint: ("Reorder point", "Ponto de reposição"),
        .since: ("Since", "Desde"),
        .freshness: ("Freshness", "Atualização"),
        .newestEvent: ("Newest event received", "Evento mais recente recebido"),
        .batchWatermark: ("Batch watermark age", "Idade da marca d'água do lote"),
        .speedEvents: ("Events served from the speed layer", "Eventos servidos pela camada rápida"),
        .never: ("never", "nunca"),
        .updated: ("Updated", "Atualizado"),
        .days: ("days", "dias"),
        .dailyReport: ("Daily report", "Relatório diário"),
        .asOf: ("as of", "até"),
        .nothingSold: ("Nothing sold yet.", "Nada vendido ainda."),
        .stockOut: ("Stock-out", "Ruptura de estoque"),
        .lowStock: ("Low stock", "Estoque baixo"),
        .projectedStockOut: ("Projected stock-out", "Ruptura prevista"),
        .hour: ("Hour", "Hora"),
        .print: ("Print", "Imprimir"),
        .total: ("Total", "Total"),
        .grossRevenue: ("Gross revenue", "Receita bruta"),
        .refunds: ("Refunds", "Devoluções"),
        .unitsReturned: ("Units returned", "Unidades devolvidas"),
        .storeTotal: ("Store total", "Total da loja"),
        .reportTitle: ("Daily sales report", "Relatório diário de vendas"),
        .noBatchYet: ("no batch yet", "nenhum lote ainda"),
    ]
}
