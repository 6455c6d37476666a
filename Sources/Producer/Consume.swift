import Messaging

/// Folds deliveries into `state` until `handle` says it is done or `timeout` seconds pass,
/// then returns the state as it stands. Each delivery is acked.
func consume<State: Sendable>(_ client: AMQPClient, from initial: State, timeout: Double,
                              _ handle: @escaping @Sendable (inout State, Delivery) -> Bool) async -> State {
    await withTaskGroup(of: State?.self) { group in
        group.addTask {
            try? await Task.sleep(for: .seconds(timeout))
            return nil
        }
        group.addTask {
            var state = initial
            // Ends early when the timer cancels it: AsyncStream iteration honours cancellation.
            for await delivery in client.deliveries {
                client.ack(delivery)
                if handle(&state, delivery) { break }
            }
            return state
        }
        var state = initial
        while let finished = await group.next() {
            if let finished {
                state = finished
                break
            }
            group.cancelAll()
        }
        group.cancelAll()
        return state
    }
}
