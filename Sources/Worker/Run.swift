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
            GRADELINE_TRACE, GRADELINE_WORKER_ID), then these flags. Exits 2 on a settings or \
            pipeline config mistake, and 3 when a canary job of the config's canaries: section \
            differs from its expected.json; both before it connects.
            """)

    @Option(name: .long, help: ArgumentHelp("Worker settings (YAML).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("The broker, amqp[s]://user:password@host:port/vhost.", valueName: "url"))
    var amqpURL: String?

    @Option(name: .long, help: "Jobs run at once in this process.")
    var concurrency: Int?

    @Option(name: .long, help: ArgumentHelp("The pipeline config.", valueName: "file"))
    var pipeline: String?

    func run() async throws {
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
        // A bad URL is a settings mistake: exit 2 now, not 1 after the pipeline has loaded.
        do {
            _ = try AMQPURL(settings.amqpURL)
        } catch {
            FileHandle.standardError.write(Data("worker settings:\n  amqp.url: \(error.reason)\n".utf8))
            throw ExitCode(2)
        }
        let pipelineConfig = try PipelineOption(pipeline: settings.pipeline).load()
        // The canaries run here, in the supervisor, before any child starts and before the
        // broker is reached: a worker whose model, libraries or config changed its outputs
        // never takes a job. (Children run the same executable and config, so they would agree.)
        let start = ContinuousClock.now
        try CanaryGate.enforce(pipelineConfig, quiet: true)
        if pipelineConfig.canaries != nil {
            logger.info("canaries match their recording", metadata: ["elapsed": "\(start.duration(to: .now))"])
        }
        // The pipelines run in child processes of this same executable (see `Child`).
        var arguments = ["child", "--pipeline", settings.pipeline, "--worker-id", settings.workerID]
        if let file { arguments += ["--config", file] }
        let launch = ChildPool.Launch(executable: Self.executablePath, arguments: arguments)
        let worker = WorkerService(settings: settings, pipeline: pipelineConfig, launch: launch, logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: worker)], gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [], logger: logger))
        try await group.run()
    }

    /// This executable, for the child processes: /proc/self/exe is the running image even when
    /// a deploy has replaced the file on disk, so children always match their supervisor.
    static var executablePath: String {
        FileManager.default.fileExists(atPath: "/proc/self/exe") ? "/proc/self/exe" : CommandLine.arguments[0]
    }
}
