import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Mutual TLS between hosts and `--client-tls` on the client ports, with certificates made by
/// the `openssl` command, and `openssl s_client` and `redis-cli --tls` as the clients.
final class TLSTests: EndToEndTestCase {
    func tlsClient(_ certificates: TestCertificates, node: Int) -> TLSClientFiles {
        TLSClientFiles(openssl: certificates.openssl, ca: certificates.ca, certificate: certificates.certificate(node), key: certificates.key(node))
    }

    /// Writes `count` keys through `host` over one TLS connection; the pairs written.
    func putAllTLS(_ host: HostProcess, prefix: String, count: Int) throws -> [String: String] {
        var pairs: [String: String] = [:]
        for number in 0..<count { pairs["\(prefix)-\(number)"] = "v\(number)" }
        let keys = pairs.keys.sorted()
        var pending = keys
        try waitFor("every PUT through host \(host.node) answered OK", timeout: 30) {
            guard let client = host.connectTLS() else { return false }
            defer { client.close() }
            guard let answers = client.pipeline(pending.map { "PUT \($0) \(pairs[$0]!)" }) else { return false }
            pending = zip(pending, answers).filter { $0.1 != "OK" }.map(\.0)
            return pending.isEmpty
        }
        return pairs
    }

    /// Every key reads back (`GET`, linearizable) through `host` over TLS.
    func checkReadableTLS(_ expected: [String: String], via host: HostProcess, command: String = "GET") throws {
        let keys = expected.keys.sorted()
        var last: [String] = []
        try waitFor("every key reads back through host \(host.node) with \(command)", timeout: 30) {
            guard let client = host.connectTLS(), let answers = client.pipeline(keys.map { "\(command) \($0)" }) else { return false }
            client.close()
            last = zip(keys, answers).filter { "VALUE \(expected[$0.0]!)" != $0.1 }.map { "\($0.0): \($0.1)" }
            return last.isEmpty
        }
    }

    func test_threeHostTLSClusterFailsOverAndAddsAnObserverBySnapshot() throws {
        let certificates = try TestCertificates.make(in: root + "/certs")
        for node in 1...4 { try certificates.makeHost(node, serial: 0x100 + node) }
        let shards = 2
        let hosts = [1, 2, 3].map { makeHost(node: $0, extra: []) }
        let list = members(hosts)
        let common = ["--shards", "\(shards)", "--snapshot-every", "50", "--client-tls"] + fastTicks
        for host in hosts {
            host.useServeArguments(["--members", list] + common + certificates.serveFlags(host.node))
            host.tlsClient = tlsClient(certificates, node: host.node)
            try host.start()
        }
        try waitUntilServing(hosts, shards: shards)
        var written: [String: String] = [:]
        for host in hosts { written.merge(try putAllTLS(host, prefix: "k\(host.node)", count: 60)) { $1 } }
        for host in hosts { try checkReadableTLS(written, via: host) }

        // Failover: SIGKILL shard 1's leader; the other two elect and go on serving.
        let killed = leader(of: 1, askingHost: hosts[0])
        try check(killed >= 1 && killed <= 3, "no leader of shard 1: \(hosts[0].status(1))")
        hosts[killed - 1].kill9()
        let survivors = hosts.filter { $0.node != killed }
        try waitFor("a new leader of shard 1 among the survivors", timeout: 30) {
            let leaders = survivors.map { leader(of: 1, askingHost: $0) }
            return Set(leaders).count == 1 && leaders[0] != killed && leaders[0] != 0
        }
        for host in survivors { written.merge(try putAllTLS(host, prefix: "after\(host.node)", count: 60)) { $1 } }
        for host in survivors { try checkReadableTLS(written, via: host) }

        // An observer: ADD-OBSERVER, caught up by a snapshot (the log was compacted past 50
        // entries), then PROMOTE; its own replica holds every key.
        let host4 = makeHost(node: 4, extra: ["--members", list, "--join"] + common + certificates.serveFlags(4))
        host4.tlsClient = tlsClient(certificates, node: 4)
        try host4.start()
        for shard in 1...shards {
            _ = try callUntil(survivors[0], "ADD-OBSERVER \(shard) 4 \(host4.raftAddress)", timeout: 30) { $0 == "OK" }
        }
        try checkReadableTLS(written, via: host4, command: "STALE-GET")
        for shard in 1...shards {
            _ = try callUntil(survivors[0], "PROMOTE \(shard) 4", timeout: 30,
                              retryOn: ["ERR NO_LEADER", "ERR BUSY", "ERR TIMEOUT", "ERR NOT_CAUGHT_UP"]) { $0 == "OK" }
        }
        try waitFor("host 4 is a voter of every shard", timeout: 30) {
            (1...shards).allSatisfy { idList(survivors[0].status($0)["voters"]).contains(4) }
        }
        written.merge(try putAllTLS(host4, prefix: "promoted", count: 30)) { $1 }
        try checkReadableTLS(written, via: host4)
        try check(host4.log().contains("snapshot"), "host 4's log mentions no snapshot:\n\(host4.logTail())")
        try check(!hosts.contains { $0.log().contains("refused the TLS handshake") }, "a refused handshake between the cluster's own hosts")
    }

    func test_hostWithACertificateFromAnotherCAIsRefusedAndCannotJoin() throws {
        let certificates = try TestCertificates.make(in: root + "/certs")
        try certificates.makeHost(1, serial: 0x11)
        let foreign = try TestCertificates.make(in: root + "/foreign", name: "another-ca")
        try foreign.makeHost(2, serial: 0x22)
        let host1 = makeHost(node: 1, extra: [])
        host1.useServeArguments(["--shards", "1"] + fastTicks + certificates.serveFlags(1))
        try host1.start()
        try waitUntilServing([host1], shards: 1)
        _ = try callUntil(host1, "PUT secret s3cret") { $0 == "OK" }
        let host2 = makeHost(node: 2, extra: ["--join"] + fastTicks + foreign.serveFlags(2))
        try host2.start()
        try waitFor("host 2 answers PING", timeout: 30) { host2.call("PING", timeoutSeconds: 2) == "PONG" }
        _ = try callUntil(host1, "ADD-OBSERVER 1 2 \(host2.raftAddress)") { $0 == "OK" }

        try waitFor("host 1 logs the refused handshake with host 2's address", timeout: 30) {
            host1.log().contains("refused the TLS handshake with peer at \(host2.raftAddress)")
        }
        try waitFor("host 2 logs the refused handshake from host 1", timeout: 30) {
            host2.log().contains("refused the TLS handshake from peer at 127.0.0.1:")
        }
        for host in [host1, host2] {
            try waitFor("host \(host.node)'s flotilla_tls_handshakes_refused_total counts it", timeout: 30) {
                guard let scrape = httpGet(port: host.metricsPort, path: "/metrics")?.body else { return false }
                return (metricValue(scrape, "flotilla_tls_handshakes_refused_total") ?? 0) >= 1
            }
        }
        // It never joined: no replica, no data, no connection made.
        let answer = host2.call("STALE-GET secret") ?? ""
        try check(!answer.contains("s3cret"), "the foreign host served the data: \(answer)")
        try check(!host2.log().contains("joined cluster"), "the foreign host joined:\n\(host2.logTail())")
        try check(!host1.log().contains("connected to peer at \(host2.raftAddress)"), "host 1 connected to the foreign host")
    }

    func test_clientPortsSpeakTLSOnlyAndRedisCLIAndOpenSSLConnect() throws {
        let redisCLI = try requireTool("redis-cli")
        let certificates = try TestCertificates.make(in: root + "/certs")
        try certificates.makeHost(1, serial: 0x31)
        let host = makeHost(node: 1, extra: ["--shards", "2", "--client-tls"] + fastTicks + certificates.serveFlags(1))
        host.tlsClient = tlsClient(certificates, node: 1)
        try host.start()
        try waitUntilServing([host], shards: 2)

        // openssl s_client on the line protocol port.
        _ = try callUntil(host, "PUT line-key line-value") { $0 == "OK" }
        try checkEqual(host.call("GET line-key"), "VALUE line-value", "GET over openssl s_client")

        // redis-cli --tls on the RESP port.
        let tls = ["--tls", "--cacert", certificates.ca, "--cert", certificates.certificate(1), "--key", certificates.key(1),
                   "-h", "127.0.0.1", "-p", "\(host.redisPort)"]
        let set = try runWithInput(redisCLI, tls + ["SET", "redis-key", "redis-value"])
        try checkEqual(set.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "OK", "redis-cli --tls SET (\(set.stderr))")
        let get = try runWithInput(redisCLI, tls + ["GET", "line-key"])
        try checkEqual(get.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "line-value", "redis-cli --tls GET (\(get.stderr))")
        try checkEqual(host.call("GET redis-key"), "VALUE redis-value", "a RESP write read over the line protocol")

        // A client without a certificate is refused (client certificates signed by the CA are required).
        let anonymous = OpenSSLLineClient(openssl: certificates.openssl, port: host.clientPort, ca: certificates.ca, certificate: nil, key: nil)
        try check(anonymous?.call("PING") != "PONG", "a client without a certificate was served")
        anonymous?.close()

        // Plain TCP on the TLS ports: nothing readable comes back, and the server closes.
        for port in [host.clientPort, host.redisPort] {
            guard let plain = LineClient(port: port, timeoutSeconds: 5) else { throw HarnessError("cannot connect to \(port)") }
            let sent = plain.send(port == host.clientPort ? "PING" : "*1\r\n$4\r\nPING\r\n")
            let reply = plain.readLine()
            try check(sent, "could not send on plain TCP to \(port)")
            try check(reply.map { !$0.contains("PONG") } ?? true, "a plain client on TLS port \(port) read \(reply ?? "")")
            plain.close()
        }
        // A connection that never starts a handshake is closed by the server (TLS has no
        // deadline of its own): on the client port and on the raft port.
        for port in [host.clientPort, host.raftPort] {
            guard let silent = LineClient(port: port, timeoutSeconds: 30) else { throw HarnessError("cannot connect to \(port)") }
            try check(silent.isClosedByPeer(timeoutSeconds: 30), "a connection to TLS port \(port) that never started a handshake stayed open")
            silent.close()
        }
        try check(host.isRunning, "the host stopped")
    }

    func test_sighupReloadsTheCertificateForNewConnectionsAndKeepsOldOnes() throws {
        let certificates = try TestCertificates.make(in: root + "/certs")
        try certificates.makeHost(1, serial: 0xA1)
        // The test's client has a certificate of its own (9): the host's files are rewritten below.
        try certificates.makeHost(9, serial: 0x99)
        let host = makeHost(node: 1, extra: ["--shards", "1", "--client-tls"] + fastTicks + certificates.serveFlags(1))
        host.tlsClient = tlsClient(certificates, node: 9)
        try host.start()
        try waitUntilServing([host], shards: 1)
        _ = try callUntil(host, "PUT before-rotation 1") { $0 == "OK" }
        guard let old = host.connectTLS() else { throw HarnessError("no TLS connection") }
        defer { old.close() }
        try checkEqual(old.call("GET before-rotation"), "VALUE 1", "the old connection before the rotation")
        try checkEqual(try servedSerial(certificates, port: host.clientPort), "A1", "the first certificate's serial")

        try certificates.makeHost(1, serial: 0xB2)
        guard let pid = host.pid else { throw HarnessError("host not running") }
        kill(pid, SIGHUP)
        try waitFor("the log tells of the reload", timeout: 20) { host.log().contains("reloaded the TLS files (certificate serial b2)") }
        try waitFor("a new connection is served the new certificate", timeout: 20) {
            (try? servedSerial(certificates, port: host.clientPort)) == "B2"
        }
        try checkEqual(old.call("GET before-rotation"), "VALUE 1", "the old connection after the rotation")
        _ = try callUntil(host, "PUT after-rotation 2") { $0 == "OK" }

        // A reload of bad files keeps the current certificates and names the file.
        try "not a key\n".write(toFile: certificates.key(1), atomically: true, encoding: .utf8)
        kill(pid, SIGHUP)
        try waitFor("the failed reload is logged naming the key file", timeout: 20) {
            host.log().contains("TLS reload failed") && host.log().contains(certificates.key(1))
        }
        try checkEqual(try servedSerial(certificates, port: host.clientPort), "B2", "the certificate after a failed reload")
        try checkEqual(old.call("GET after-rotation"), "VALUE 2", "the old connection after a failed reload")
    }

    /// The serial of the certificate a new connection is served (`openssl s_client -showcerts`).
    func servedSerial(_ certificates: TestCertificates, port: Int) throws -> String {
        let shown = try runWithInput(certificates.openssl, ["s_client", "-showcerts", "-connect", "127.0.0.1:\(port)", "-CAfile", certificates.ca,
                                                            "-cert", certificates.certificate(9), "-key", certificates.key(9)], input: "", timeout: 20)
        guard let begin = shown.stdout.range(of: "-----BEGIN CERTIFICATE-----"),
              let end = shown.stdout.range(of: "-----END CERTIFICATE-----", range: begin.upperBound..<shown.stdout.endIndex) else {
            throw HarnessError("no certificate shown: \(shown.stdout) \(shown.stderr)")
        }
        let pem = String(shown.stdout[begin.lowerBound..<end.upperBound]) + "\n"
        let serial = try runWithInput(certificates.openssl, ["x509", "-noout", "-serial"], input: pem)
        return serial.stdout.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
    }

    func test_badFilesAreRefusedAtStartNamingTheFile() throws {
        let certificates = try TestCertificates.make(in: root + "/certs")
        try certificates.makeHost(1, serial: 0x41)
        try certificates.makeHost(2, serial: 0x42)
        let expired = root + "/certs/expired.pem", expiredKey = root + "/certs/expired-key.pem"
        try certificates.makeHost(3, serial: 0x43, days: -1, to: expired, keyPath: expiredKey)
        let unreadable = root + "/certs/unreadable-key.pem"
        try FileManager.default.copyItem(atPath: certificates.key(1), toPath: unreadable)
        chmod(unreadable, 0)
        let missing = root + "/certs/missing.pem"
        let foreign = try TestCertificates.make(in: root + "/foreign", name: "another-ca")
        try foreign.makeHost(1, serial: 0x51)
        var cases: [(String, [String], String)] = [
            ("a certificate another CA signed", ["--tls-cert", foreign.certificate(1), "--tls-key", foreign.key(1), "--tls-ca", certificates.ca],
             "--tls-cert \(foreign.certificate(1)) is not signed by the CA in --tls-ca \(certificates.ca)"),
            ("a missing certificate", ["--tls-cert", missing, "--tls-key", certificates.key(1), "--tls-ca", certificates.ca], "--tls-cert \(missing)"),
            ("a missing CA", ["--tls-cert", certificates.certificate(1), "--tls-key", certificates.key(1), "--tls-ca", missing], "--tls-ca \(missing)"),
            ("an expired certificate", ["--tls-cert", expired, "--tls-key", expiredKey, "--tls-ca", certificates.ca], "--tls-cert \(expired) holds a certificate that expired"),
            ("a key of another certificate", ["--tls-cert", certificates.certificate(1), "--tls-key", certificates.key(2), "--tls-ca", certificates.ca],
             "--tls-key \(certificates.key(2)) does not match the certificate in \(certificates.certificate(1))"),
            ("a subset of the flags", ["--tls-cert", certificates.certificate(1)], "--tls-cert, --tls-key and --tls-ca go together"),
            ("--client-tls alone", ["--client-tls"], "--client-tls needs --tls-cert, --tls-key and --tls-ca"),
        ]
        // Root reads any file whatever its mode: the unreadable case holds only for other users.
        if getuid() != 0 {
            cases.append(("an unreadable key", ["--tls-cert", certificates.certificate(1), "--tls-key", unreadable, "--tls-ca", certificates.ca],
                          "--tls-key \(unreadable) cannot be read"))
        }
        for (index, (what, flags, message)) in cases.enumerated() {
            let dataDirectory = "\(root)/refused-\(index)"
            let run = try runTool(binary, ["serve", "--data-dir", dataDirectory, "--raft-addr", "127.0.0.1:\(FreePort.next())",
                                           "--client-addr", "127.0.0.1:\(FreePort.next())", "--metrics-addr", "none", "--redis-addr", "none"] + flags,
                                  in: root, timeout: 30)
            try check(run.status != 0 && !run.timedOut, "\(what): not refused: \(run.text)")
            try check(run.stderr.contains(message), "\(what): the message does not say '\(message)': \(run.text)")
            try check(!FileManager.default.fileExists(atPath: dataDirectory), "\(what): the data dir was created before the refusal")
        }
    }
}
