import CoreMetrics
import Prometheus

/// Requests by status class, and upstream response time, of one route.
public struct RouteMetrics: Sendable {
    private let byStatusClass: [CoreMetrics.Counter]
    private let upstreamResponse: CoreMetrics.Timer

    init(name: String, factory: PrometheusMetricsFactory) {
        byStatusClass = (1...5).map { digit in
            CoreMetrics.Counter(label: "porteiro_requests_total", dimensions: [("route", name), ("status", "\(digit)xx")], factory: factory)
        }
        upstreamResponse = CoreMetrics.Timer(label: "porteiro_upstream_response_seconds", dimensions: [("route", name)], factory: factory)
    }

    public func record(status: UInt) {
        let index = min(max(Int(status / 100), 1), 5) - 1
        byStatusClass[index].increment()
    }

    /// Time from the client's request head to the upstream's response head.
    public func upstreamResponded(afterNanoseconds nanoseconds: Int64) {
        upstreamResponse.recordNanoseconds(nanoseconds)
    }
}
