import ArgumentParser
import Core
import Fleet
import Foundation
import Logging
import Messaging
import ServiceLifecycle

/// `gradeline-worker run`: consumes jobs from RabbitMQ until SIGTERM or SIGINT.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Consumes grading jobs from RabbitMQ and publishes results, until SIGTERM or SIGINT.",
        discussion: """
            Settings come from --config (default config/worker.yaml when it exists), then the \
            environment (GRADELINE_AMQP_URL, GRADELINE_CONCURRENCY, GRADELINE_PIPELINE, \
            GRADELINE_TRACE, GRADELINE_WORKER_ID, GRADELINE_METRICS_PORT), then these flags. \
            Serves /metrics, /health/live and /health/ready on the metrics port (9464; 0 turns \
            it off). Exits 2 on a settings or pipeline config mistake or a metrics port it \
            cannot listen on, and 3 when a canary job of the config's canaries: section differs \
            from its expected.json; all before it connects. SIGHUP reloads the pipeline config \
            (validated, canaries first; a bad one is refused and the old one keeps serving).
            """)

    @Option(name: .long, help: ArgumentHelp("Worker settings (YAML).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("The broker, amqp[s]://user:password@host:port/vhost.", valueName: "url"))
    var amqpURL: String?

    @Option(name: .long, help: "Jobs run at once in this process.")
    var concurrency: Int?

    @Option(name: .long, help: ArgumentHelp("The pipeline config.", valueName: "file"))
    var pipeline: String?

    @Option(name: .long, help: ArgumentHelp("The port of /metrics and /health/*; 0 turns it off.", valueName: "port"))
    var metricsPort: Int?

    func run() async throws {
        // SIGHUP reloads the pipeline config once the worker runs (WorkerService); until then
        // it must not end the process, which is the signal's default.
        signal(SIGHUP, SIG_IGN)
        LoggingSystem.bootstrapGradeline(defaultLevel: .info)
        let logger = Logger(label: "gradeline.worker")
        var settings: WorkerConfiguration
        let file = config ?? (FileManager.default.fileExists(atPath: "config/worker.yaml") ? "config/worker.yaml" : nil)
        do {
            settings = try WorkerConfiguration.load(file: file)
        } catch {
            FileHandle.standardError.write(Data("worker settings:\n\(error.description)\n".utf8))
            throw ExitCode(2)
        }
        if let amqpURL { settings.amqpURL = amqpURL }
        if let concurrency {
            guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be from 1 to 256") }
            settings.concurrency = concurrency
        }
        if let pipeline { settings.pipeline = pipeline }
        if let metricsPort {
            guard (0...65535).contains(metricsPort) else { throw ValidationError("--metrics-port must be from 0 to 65535") }
            settings.metricsPort = metricsPort
        }
        // A bad URL is a settings mistake: exit 2 now, not 1 after the pipeline has loaded.
        do {
            _ = try settings.brokerURLs()
        } catch {
            FileHandle.standardError.write(Data("worker settings:\n  amqp.url: \(error.reason)\n".utf8))
            throw ExitCode(2)
        }
        let pipelineConfig = try PipelineOption(pipeline: settings.pipeline).load()
        // The port comes up first, so that a probe sees "starting" (503) rather than nothing
        // while the canaries and the models load.
        let readiness = Readiness()
        var observability: ObservabilityServer?
        if settings.metricsPort > 0 {
            let metrics = WorkerMetrics.bootstrap(version: Gradeline.version, configSHA256: pipelineConfig.sha256)
            do {
                observability = try await ObservabilityServer.start(port: UInt16(settings.metricsPort), metrics: metrics,
                                                                    readiness: readiness, logger: logger)
            } catch {
                FileHandle.standardError.write(Data("worker settings:\n  metrics.port \(settings.metricsPort): cannot listen: \(error) (another process on it? set GRADELINE_METRICS_PORT, or 0 to turn it off)\n".utf8))
                throw ExitCode(2)
            }
        }
        // The canaries run here, in the supervisor, before any child starts and before the
        // broker is reached: a worker whose model, libraries or config changed its outputs
        // never takes a job. (Children run the same executable and config, so they would agree.)
        let start = ContinuousClock.now
        try CanaryGate.enforce(pipelineConfig, quiet: true)
        if pipelineConfig.canaries != nil {
            logger.info("canaries match their recording", metadata: ["elapsed": "\(start.duration(to: .now))"])
        }
        readiness.canariesPassed()
        // The pipelines run in child processes of this same executable (see `Child`).
        var arguments = ["child", "--pipeline", settings.pipeline, "--worker-id", settings.workerID]
        if let file { arguments += ["--config", file] }
        let launch = ChildPool.Launch(executable: Self.executablePath, arguments: arguments)
        let worker = WorkerService(settings: settings, pipeline: pipelineConfig, launch: launch, logger: logger,
                                   readiness: readiness)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: worker)], gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [], logger: logger))
        try await group.run()
        await observability?.stop()
    }

    /// This executable, for the child processes: /proc/self/exe is the running image even when
    /// a deploy has replaced the file on disk, so children always match their supervisor.
    static var executablePath: String {
        FileManager.default.fileExists(atPath: "/proc/self/exe") ? "/proc/self/exe" : CommandLine.arguments[0]
    }
}
