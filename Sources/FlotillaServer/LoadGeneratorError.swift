public enum LoadGeneratorError: Error, CustomStringConvertible {
    case invalid(String)
    case connection(String)

    public var description: String {
        switch self {
        case .invalid(let detail), .connection(let detail): return detail
        }
    }
}
