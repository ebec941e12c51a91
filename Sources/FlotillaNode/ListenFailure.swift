import Foundation
import NIOCore

/// The message for a port that could not be opened, naming the flag and address the operator
/// gave and the system's reason in plain words (`cannot listen on --client-addr
/// 127.0.0.1:7301: address already in use`), not the name of the NIO call that failed.
public enum ListenFailure {
    public static func message(flag: String, address: String, error: any Error) -> String {
        "cannot listen on \(flag) \(address): \(reason(error))"
    }

    /// The system's reason for a socket error, lower case as in a sentence; any other error as it describes itself.
    public static func reason(_ error: any Error) -> String {
        if let error = error as? IOError {
            return systemReason(error.errnoCode)
        }
        if let error = error as? SocketAddressError.UnknownHost {
            return "cannot resolve host '\(error.host)': \(error.errorDescription.prefix(1).lowercased() + error.errorDescription.dropFirst())"
        }
        return "\(error)"
    }

    static func systemReason(_ code: Int32) -> String {
        guard let text = strerror(code).map({ String(cString: $0) }), !text.isEmpty else { return "error \(code)" }
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
