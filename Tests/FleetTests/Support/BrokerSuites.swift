import Testing

/// Every suite that uses the test broker, one test at a time: some restart the broker, stop it,
/// or raise a memory alarm on it, and a test running beside them would take that fault for its
/// own. Suites that need no broker still run in parallel with these.
@Suite("Against the test broker, one test at a time", .serialized)
enum BrokerSuites {}
