import Synchronization

/// Float buffers of fixed sizes for one run: the slots of a plan, or a convolution's scratchpad.
///
/// - Important: `@unchecked Sendable` is safe because an arena is used by one run at a time:
///   its pool hands it out and takes it back.
final class Arena: @unchecked Sendable {
    let buffers: [UnsafeMutablePointer<Float>]

    init(_ sizes: [Int]) { buffers = sizes.map { UnsafeMutablePointer<Float>.allocate(capacity: max($0, 1)) } }

    deinit { buffers.forEach { $0.deallocate() } }
}

/// Arenas kept between runs, so that a run writes to memory that is already mapped rather than
/// paying a page fault per fresh 4 KiB. Concurrent runs take separate arenas; the pool keeps as
/// many as ever ran at once.
final class ArenaPool: Sendable {
    private let sizes: [Int]
    private let idle = Mutex<[Arena]>([])

    init(sizes: [Int]) { self.sizes = sizes }

    func take() -> Arena { idle.withLock { $0.popLast() } ?? Arena(sizes) }

    func give(_ arena: Arena) { idle.withLock { $0.append(arena) } }

    /// Runs `body` with an arena of the pool.
    func with<T>(_ body: (Arena) throws -> T) rethrows -> T {
        let arena = take()
        defer { give(arena) }
        return try body(arena)
    }
}
