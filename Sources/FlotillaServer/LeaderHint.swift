/// The opt-in hint on a line-protocol answer (`HINTS ON` on a connection): an answer from a
/// host that does not lead the key's shard is prefixed `LEADER <node> `, naming the leader it
/// knows (0: none known, or this host holds no replica), so that a client that routes by
/// `ROUTES` learns that its map is out of date, as Redis Cluster's `MOVED` tells a client,
/// except that the request was still carried out (relayed): the rest of the line is the
/// usual answer. No usual answer begins with `LEADER`, and a connection that never sends
/// `HINTS ON` sees exactly the usual answers.
public enum LeaderHint {
    static let prefix = Array("LEADER ".utf8)

    /// `answer` (one rendered line, `\n` included) with the hint in front.
    public static func render(leader: UInt64, answer: [UInt8]) -> [UInt8] {
        prefix + Array("\(leader) ".utf8) + answer
    }

    /// The leader a hinted answer line names and where the usual answer starts in it; nil
    /// when the line carries no hint.
    public static func parse<Bytes: RandomAccessCollection>(_ line: Bytes) -> (leader: UInt64, answerStart: Bytes.Index)?
    where Bytes.Element == UInt8 {
        guard line.count > prefix.count, line.starts(with: prefix) else { return nil }
        var index = line.index(line.startIndex, offsetBy: prefix.count)
        var leader: UInt64 = 0
        var digits = 0
        while index != line.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(line[index]) {
            let (multiplied, overflowMultiply) = leader.multipliedReportingOverflow(by: 10)
            let (added, overflowAdd) = multiplied.addingReportingOverflow(UInt64(line[index] - UInt8(ascii: "0")))
            guard !overflowMultiply, !overflowAdd else { return nil }
            leader = added
            digits += 1
            index = line.index(after: index)
        }
        guard digits > 0, index != line.endIndex, line[index] == UInt8(ascii: " ") else { return nil }
        return (leader, line.index(after: index))
    }
}
