import FlotillaHost
import FlotillaRaft

/// One simulated host incarnation's side of the simulated network: everything it sends goes
/// to the simulator, which drops, delays, reorders or cuts it off (seeded).
final class SimulatedTransport: HostTransport, @unchecked Sendable {
    unowned let simulator: HostSimulator
    let host: Int
    let incarnation: Int

    init(simulator: HostSimulator, host: Int, incarnation: Int) {
        self.simulator = simulator
        self.host = host
        self.incarnation = incarnation
    }

    func send(_ messages: [ShardMessage]) {
        simulator.send(messages, from: host, incarnation: incarnation)
    }

    func sendSnapshot(_ message: ShardMessage, file: String, completion: @escaping @Sendable (Bool) -> Void) {
        simulator.sendSnapshot(message, file: file, from: host, incarnation: incarnation, completion: completion)
    }

    func updateAddresses(_ addresses: [ReplicaID: String]) {}
}
