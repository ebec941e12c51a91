/// Why a host could not start or a command could not run; the message is for a person.
public enum HostRuntimeError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidOption(String)
    case dataDirectory(String)
    case startup(String)

    public var description: String {
        switch self {
        case .invalidOption(let detail), .dataDirectory(let detail), .startup(let detail): return detail
        }
    }
}
