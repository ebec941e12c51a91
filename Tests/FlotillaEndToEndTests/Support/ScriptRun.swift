import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a script that leaves processes running in the background (`tools/cluster start`) to
/// completion, and waits for the script alone. Foundation's `Process` on Linux learns of an
/// exit through a socket the child inherits, so it would wait for every background grandchild
/// too; this spawns with posix_spawn and polls waitpid instead. SIGKILLed after `timeout` seconds.
func runScript(_ path: String, _ arguments: [String], environment extra: [String: String], in directory: String,
               timeout: Double) throws -> ToolRun {
    let stamp = UUID().uuidString
    let outPath = "\(directory)/script-\(stamp).out"
    let errPath = "\(directory)/script-\(stamp).err"
    defer {
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    var environment = ProcessInfo.processInfo.environment
    for (name, value) in extra { environment[name] = value }
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        for pointer in argv { free(pointer) }
        for pointer in envp { free(pointer) }
    }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, path, &actions, nil, argv, envp)
    guard spawned == 0 else { throw HarnessError("cannot run \(path): \(String(cString: strerror(spawned)))") }
    var status: Int32 = 0
    let finished = eventually(timeout: timeout, interval: 0.02) { waitpid(pid, &status, WNOHANG) == pid }
    if !finished {
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }
    // WIFEXITED / WEXITSTATUS, which Swift does not import as macros.
    let exited = status & 0x7f == 0
    return ToolRun(status: finished ? (exited ? (status >> 8) & 0xff : -1) : -1, timedOut: !finished,
                   stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                   stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
}
