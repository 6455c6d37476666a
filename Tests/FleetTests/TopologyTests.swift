import Fleet
import Foundation
import Messaging
import Testing

@Suite("Topology matches deploy/ and the settings file")
struct TopologyTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test("deploy/rabbitmq/definitions.json declares exactly what the workers declare")
    func definitionsMatch() throws {
        let settings = try WorkerConfiguration.load(file: Self.repository.appendingPathComponent("config/worker.yaml").path,
                                                    environment: [:])
        let data = try Data(contentsOf: Self.repository.appendingPathComponent("deploy/rabbitmq/definitions.json"))
        let definitions = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        var fromFile: Set<Topology.Declaration> = []
        for exchange in definitions["exchanges"] as? [[String: Any]] ?? [] {
            fromFile.insert(.exchange(name: exchange["name"] as! String, type: exchange["type"] as! String))
        }
        for queue in definitions["queues"] as? [[String: Any]] ?? [] {
            let arguments = (queue["arguments"] as? [String: Any] ?? [:]).mapValues { value -> AMQPValue in
                if let number = value as? Int { return .int(Int64(number)) }
                return .string(value as! String)
            }
            fromFile.insert(.queue(name: queue["name"] as! String, arguments: arguments))
        }
        for binding in definitions["bindings"] as? [[String: Any]] ?? [] {
            fromFile.insert(.binding(queue: binding["destination"] as! String, exchange: binding["source"] as! String,
                                     routingKey: binding["routing_key"] as! String))
        }
        let declared = Set(settings.topology.declarations(retryDelaysMs: settings.retry.delaysMs))
        #expect(declared == fromFile, "only in the workers: \(declared.subtracting(fromFile)); only in the file: \(fromFile.subtracting(declared))")
    }

    @Test("a settings mistake names the file, line and key")
    func settingsErrors() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gradeline-worker-\(UUID()).yaml")
        try "worker:\n  concurrency: 0\n  pipelin: x.yaml\nretry:\n  delays_ms: [100, -1]\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: SettingsError.self) { try WorkerConfiguration.load(file: file.path, environment: [:]) }
        do {
            _ = try WorkerConfiguration.load(file: file.path, environment: [:])
        } catch {
            #expect(error.problems.contains("\(file.path):2:3: worker.concurrency must be an integer from 1 to 256, not '0'"), "\(error.problems)")
            #expect(error.problems.contains("\(file.path):3:3: unknown setting 'worker.pipelin'; did you mean 'worker.pipeline'?"), "\(error.problems)")
            #expect(error.problems.contains { $0.hasPrefix("\(file.path):5:3: retry.delays_ms must be a list") }, "\(error.problems)")
        }
    }

    @Test("the environment overrides the file, and a bad value is named")
    func environment() throws {
        let settings = try WorkerConfiguration.load(file: nil, environment: ["GRADELINE_CONCURRENCY": "7", "GRADELINE_TRACE": "full"])
        #expect(settings.concurrency == 7)
        #expect(settings.trace == .full)
        #expect(throws: SettingsError.self) { try WorkerConfiguration.load(file: nil, environment: ["GRADELINE_CONCURRENCY": "many"]) }
        let capped = try WorkerConfiguration.load(file: nil, environment: ["GRADELINE_MAX_JOB_RSS_BYTES": "939524096"])
        #expect(capped.maxJobRSSBytes == 896 << 20)
        for bad in ["1", "896MiB", "", "-939524096", "99999999999999999999", "1e9"] {
            #expect {
                try WorkerConfiguration.load(file: nil, environment: ["GRADELINE_MAX_JOB_RSS_BYTES": bad])
            } throws: { error in
                (error as? SettingsError)?.problems == ["GRADELINE_MAX_JOB_RSS_BYTES must be a byte count from 64 MiB to 1 TiB, not '\(bad)'"]
            }
        }
    }

    @Test("topology.declare: false makes clients only check the topology; the environment overrides it")
    func declareSetting() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gradeline-worker-\(UUID()).yaml")
        try "topology:\n  declare: false\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(try WorkerConfiguration.load(file: file.path, environment: [:]).topology.declares == false)
        #expect(try WorkerConfiguration.load(file: file.path, environment: ["GRADELINE_TOPOLOGY_DECLARE": "true"]).topology.declares)
        #expect(try WorkerConfiguration.load(file: nil, environment: [:]).topology.declares)
        try "topology:\n  declare: sometimes\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: SettingsError.self) { try WorkerConfiguration.load(file: file.path, environment: [:]) }
        #expect(throws: SettingsError.self) { try WorkerConfiguration.load(file: nil, environment: ["GRADELINE_TOPOLOGY_DECLARE": "maybe"]) }
    }
}
