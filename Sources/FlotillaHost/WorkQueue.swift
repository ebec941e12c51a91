#if canImport(Glibc)
import Glibc
#endif

/// A bounded queue a worker thread sleeps on: producers append and wake it; the worker takes
/// everything at once, so that a burst of requests becomes one step round and one write.
final class WorkQueue<Item>: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var items: [Item] = []
    private var closed = false
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    /// Appends unless the queue is full or closed; false when refused.
    @discardableResult
    func push(_ item: Item, force: Bool = false) -> Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if closed || (!force && items.count >= capacity) { return false }
        items.append(item)
        if items.count == 1 { pthread_cond_signal(&condition) }
        return true
    }

    /// Waits for at least one item (or closure) and takes all; empty once closed and drained.
    func takeAll() -> [Item] {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while items.isEmpty && !closed {
            pthread_cond_wait(&condition, &mutex)
        }
        let taken = items
        items = []
        return taken
    }

    /// Takes whatever is queued without waiting (empty when nothing is): for a caller that
    /// drives the worker's rounds itself, on one thread, instead of the worker's thread.
    func takeAvailable() -> [Item] {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let taken = items
        items = []
        return taken
    }

    func close() {
        pthread_mutex_lock(&mutex)
        closed = true
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }
}
