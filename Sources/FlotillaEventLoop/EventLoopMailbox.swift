import NIOCore
import Synchronization

/// Work handed to one event loop from other threads, in batches.
///
/// A step worker that answers fifty requests of one loop in a round should wake that loop
/// once, not fifty times: the first item posted while none is pending schedules one task, and
/// that task runs every item posted until it runs. Work posted from the loop itself joins the
/// same batch. Items that want to act once per batch (a connection flushing its socket after
/// all its answers are written) register with `atEndOfBatch` while the batch runs.
public final class EventLoopMailbox: @unchecked Sendable {
    public let eventLoop: any EventLoop
    private let pending = Mutex<[@Sendable () -> Void]>([])
    /// Only touched on `eventLoop` (hence unchecked sendability).
    private var endOfBatch: [() -> Void] = []

    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Runs `work` on the loop, in the next batch.
    public func post(_ work: @escaping @Sendable () -> Void) {
        let isFirst = pending.withLock { items -> Bool in
            items.append(work)
            return items.count == 1
        }
        if isFirst { eventLoop.execute { self.runBatch() } }
    }

    /// On the loop: runs `body` once the current batch (or, outside a batch, the current loop
    /// iteration's tasks) is done. Used to flush a socket once for many answers.
    public func atEndOfBatch(_ body: @escaping () -> Void) {
        eventLoop.assertInEventLoop()
        if endOfBatch.isEmpty && !inBatch {
            // Outside a batch nothing would run the list: schedule it.
            eventLoop.execute { self.runEndOfBatch() }
        }
        endOfBatch.append(body)
    }

    /// Only touched on `eventLoop`.
    private var inBatch = false

    private func runBatch() {
        let items = pending.withLock { items -> [@Sendable () -> Void] in
            let taken = items
            items.removeAll(keepingCapacity: true)
            return taken
        }
        inBatch = true
        for item in items { item() }
        inBatch = false
        runEndOfBatch()
    }

    private func runEndOfBatch() {
        while !endOfBatch.isEmpty {
            let bodies = endOfBatch
            endOfBatch = []
            for body in bodies { body() }
        }
    }
}

/// One mailbox per loop of a group, found by the loop.
public final class EventLoopMailboxes: Sendable {
    private let mailboxes: [ObjectIdentifier: EventLoopMailbox]
    private let first: EventLoopMailbox

    public init(group: any EventLoopGroup) {
        var table: [ObjectIdentifier: EventLoopMailbox] = [:]
        var firstMailbox: EventLoopMailbox?
        for loop in group.makeIterator() {
            let mailbox = EventLoopMailbox(eventLoop: loop)
            table[ObjectIdentifier(loop)] = mailbox
            if firstMailbox == nil { firstMailbox = mailbox }
        }
        mailboxes = table
        first = firstMailbox!
    }

    /// The mailbox of `eventLoop`; a loop of another group gets a mailbox of its own.
    public func mailbox(for eventLoop: any EventLoop) -> EventLoopMailbox {
        mailboxes[ObjectIdentifier(eventLoop)] ?? EventLoopMailbox(eventLoop: eventLoop)
    }
}
