import FlyingFox
import Foundation
import Logging

/// The worker's HTTP port: `/metrics` (Prometheus text), `/health/live` (200 while the process
/// answers) and `/health/ready` (200, or 503 with a one-line reason; see `Readiness`).
public final class ObservabilityServer: Sendable {
    let server: HTTPServer
    let task: Task<Void, Never>

    /// Starts listening on `port` (all interfaces) and returns once it does.
    public static func start(port: UInt16, metrics: WorkerMetrics, readiness: Readiness,
                             logger: Logger) async throws -> ObservabilityServer {
        let server = HTTPServer(port: port, logger: .disabled)
        await server.appendRoute("GET /metrics") { _ in
            HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                         body: Data(metrics.exposition()))
        }
        await server.appendRoute("GET /health/live") { _ in
            HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain"], body: Data("live\n".utf8))
        }
        await server.appendRoute("GET /health/ready") { _ in
            if let reason = readiness.notReadyReason {
                return HTTPResponse(statusCode: .serviceUnavailable, headers: [.contentType: "text/plain"],
                                    body: Data((reason + "\n").utf8))
            }
            return HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain"], body: Data("ready\n".utf8))
        }
        let task = Task {
            do {
                try await server.run()
            } catch {
                logger.error("the metrics and health port stopped", metadata: ["port": "\(port)", "error": "\(error)"])
            }
        }
        do {
            try await server.waitUntilListening(timeout: 5)
        } catch {
            task.cancel()
            throw error
        }
        logger.info("metrics and health on port \(port)", metadata: ["paths": "/metrics /health/live /health/ready"])
        return ObservabilityServer(server: server, task: task)
    }

    init(server: HTTPServer, task: Task<Void, Never>) {
        self.server = server
        self.task = task
    }

    public func stop() async {
        await server.stop(timeout: 1)
        task.cancel()
    }
}
