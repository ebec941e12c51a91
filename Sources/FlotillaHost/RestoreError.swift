/// Why a restore was refused. Nothing was written.
public enum RestoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidFile(String)
    case invalidSet(String)
    case invalidTarget(String)

    public var description: String {
        switch self {
        case .invalidFile(let detail), .invalidSet(let detail), .invalidTarget(let detail): return detail
        }
    }
}
