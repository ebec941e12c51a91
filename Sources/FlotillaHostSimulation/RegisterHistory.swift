/// The clients' history of every register (one key of one shard), checked for
/// linearizability with a register rule that is sound though not complete: every write's value
/// is unique, so a read names the write it saw, and times are the simulator's sequence stamps
/// (an answer is stamped when the simulator takes it, after the round that gave it: never
/// earlier than it happened, which can only hide a violation, never invent one).
///
/// A read is wrong when it returns a value no write wrote, a value whose write began after
/// the read ended, a value whose write was answered with an error other than `timeout` (the
/// host promises such a write was not applied), or a stale value: one whose write was over
/// before some other write W2 began, W2 having taken effect (acknowledged, or seen by a read)
/// before the read began. An absent value must be explained the same way by the initial state
/// or some delete. An acknowledged write lost at a crash shows up as such a stale read (the
/// final reads of every key make sure one comes).
struct RegisterHistory {
    struct Register: Hashable {
        var shard: UInt64
        var key: [UInt8]
    }

    enum Outcome {
        /// Not answered (yet): may or may not take effect.
        case unknown
        case acknowledged
        /// Answered with an error that promises it was not applied.
        case notApplied
    }

    struct Write {
        /// Nil for a delete.
        var value: [UInt8]?
        var start: UInt64
        var end: UInt64?
        var outcome: Outcome
        var label: String
    }

    struct Read {
        var value: [UInt8]?
        var start: UInt64
        var end: UInt64
        var label: String
    }

    private(set) var writes: [Register: [Write]] = [:]
    private(set) var reads: [Register: [Read]] = [:]
    private var writeOfValue: [[UInt8]: (register: Register, position: Int)] = [:]

    /// Records a write as it is submitted; returns its position for `finishWrite`.
    mutating func beginWrite(_ register: Register, value: [UInt8]?, start: UInt64, label: String) -> Int {
        writes[register, default: []].append(Write(value: value, start: start, end: nil, outcome: .unknown, label: label))
        let position = writes[register]!.count - 1
        if let value { writeOfValue[value] = (register, position) }
        return position
    }

    mutating func finishWrite(_ register: Register, position: Int, outcome: Outcome, end: UInt64) {
        writes[register]![position].outcome = outcome
        if outcome == .acknowledged { writes[register]![position].end = end }
    }

    /// A compare-and-set answered `mismatch`: it wrote nothing.
    mutating func withdrawWrite(_ register: Register, position: Int) {
        writes[register]![position].outcome = .notApplied
        writes[register]![position].value = nil
        writes[register]![position].label += " (mismatch: wrote nothing)"
    }

    mutating func addRead(_ register: Register, value: [UInt8]?, start: UInt64, end: UInt64, label: String) {
        reads[register, default: []].append(Read(value: value, start: start, end: end, label: label))
    }

    /// The first violation found, described; nil when the history is linearizable by the rule.
    func violation() -> String? {
        for register in reads.keys.sorted(by: { ($0.shard, String(decoding: $0.key, as: UTF8.self)) < ($1.shard, String(decoding: $1.key, as: UTF8.self)) }) {
            if let found = violation(in: register) { return found }
        }
        return nil
    }

    private func violation(in register: Register) -> String? {
        let registerWrites = writes[register] ?? []
        let registerReads = reads[register] ?? []
        // When each write is known to have taken effect: its acknowledgement, or the end of a
        // read that saw its value.
        var visible: [UInt64?] = registerWrites.map { $0.outcome == .acknowledged ? $0.end : nil }
        for read in registerReads {
            guard let value = read.value, let found = writeOfValue[value], found.register == register else { continue }
            visible[found.position] = min(visible[found.position] ?? .max, read.end)
        }
        let name = "shard \(register.shard) key \(String(decoding: register.key, as: UTF8.self))"
        /// Whether a write that was over at `end` was overwritten, before `readStart`, by another.
        func overwritten(_ position: Int?, end: UInt64, before readStart: UInt64) -> Write? {
            for (other, write) in registerWrites.enumerated() where other != position {
                guard let seen = visible[other], seen < readStart, end < write.start else { continue }
                return write
            }
            return nil
        }
        for read in registerReads {
            if let value = read.value {
                guard let found = writeOfValue[value], found.register == register else {
                    return "\(name): \(read.label) returned \(String(decoding: value, as: UTF8.self)), which no write of it wrote"
                }
                let write = registerWrites[found.position]
                if write.outcome == .notApplied {
                    return "\(name): \(read.label) saw \(write.label), which was answered with an error promising it was not applied"
                }
                if write.start > read.end {
                    return "\(name): \(read.label) saw \(write.label), which began after the read ended"
                }
                if let end = write.end, let newer = overwritten(found.position, end: end, before: read.start) {
                    return "\(name): stale read: \(read.label) saw \(write.label), but \(newer.label) had overwritten it before the read began"
                }
            } else {
                // The initial absence (over before anything began), or a delete.
                if overwritten(nil, end: 0, before: read.start) == nil { continue }
                var explained = false
                for (position, write) in registerWrites.enumerated() where write.value == nil && write.outcome != .notApplied && write.start < read.end {
                    guard let end = write.end else {
                        explained = true
                        break
                    }
                    if overwritten(position, end: end, before: read.start) == nil {
                        explained = true
                        break
                    }
                }
                if !explained {
                    let newest = registerWrites.enumerated().filter { visible[$0.offset].map { $0 < read.start } ?? false }.last?.element
                    return "\(name): stale read: \(read.label) found the key absent, but \(newest?.label ?? "a write") had taken effect before the read began and no delete can explain it"
                }
            }
        }
        return nil
    }
}
