import Messaging
import W3CTraceContext

extension JobHandler {
    /// `delivery` with a valid W3C `traceparent` header: its own, or a new one (random trace
    /// and span ids, sampled) when it has none or one that does not parse. The worker calls
    /// this first, so that the job's log lines, its result, its retries and its dead letter all
    /// carry the same value.
    public static func withTraceparent(_ delivery: Delivery) -> Delivery {
        if let given = delivery.properties.headers[Headers.traceparent]?.text,
           (try? TraceContext(traceParentHeaderValue: given)) != nil {
            return delivery
        }
        var delivery = delivery
        delivery.properties.headers[Headers.traceparent] = .string(newTraceparent())
        return delivery
    }

    /// A new, sampled traceparent: `00-<32 hex trace id>-<16 hex span id>-01`.
    public static func newTraceparent() -> String {
        TraceContext(traceID: .random(), spanID: .random(), flags: .sampled, state: TraceState()).traceParentHeaderValue
    }

    /// The traceparent a delivery carries (after `withTraceparent`, always one).
    static func traceparent(of delivery: Delivery) -> String? {
        delivery.properties.headers[Headers.traceparent]?.text
    }
}
