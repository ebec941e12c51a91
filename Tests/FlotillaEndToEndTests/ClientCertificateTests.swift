import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Client certificates are not member credentials, `--client-ca`, and the tools over TLS, with
/// certificates from `flotilla certs` and `openssl s_client`, `openssl s_server` and
/// `redis-cli --tls` as the other side.
final class ClientCertificateTests: EndToEndTestCase {
    /// `flotilla certs --dir <root>/<name> --hosts hosts --clients clients`, which must succeed.
    func makeCertificates(_ name: String, hosts: Int, clients: Int) throws -> String {
        let directory = "\(root)/\(name)"
        let run = try runTool(binary, ["certs", "--dir", directory, "--hosts", "\(hosts)", "--clients", "\(clients)"], in: root, timeout: 60)
        try check(!run.timedOut && run.status == 0, "flotilla certs: \(run.text)")
        return directory
    }

    func serveFlags(_ directory: String, host: Int) -> [String] {
        ["--tls-cert", "\(directory)/host-\(host).pem", "--tls-key", "\(directory)/host-\(host)-key.pem", "--tls-ca", "\(directory)/ca.pem"]
    }

    func client(_ directory: String, _ number: Int, ca: String) throws -> TLSClientFiles {
        TLSClientFiles(openssl: try requireTool("openssl"), ca: ca, certificate: "\(directory)/client-\(number).pem",
                       key: "\(directory)/client-\(number)-key.pem")
    }

    func refusedCount(_ host: HostProcess) -> Double? {
        guard let scrape = httpGet(port: host.metricsPort, path: "/metrics")?.body else { return nil }
        return metricValue(scrape, "flotilla_tls_handshakes_refused_total")
    }

    /// `redis-cli --tls ... PING` through `host`'s RESP port with the client files: its output.
    func redisPing(_ host: HostProcess, _ files: TLSClientFiles) throws -> String {
        let run = try runWithInput(try requireTool("redis-cli"), ["--tls", "--cacert", files.ca, "--cert", files.certificate, "--key", files.key,
                                                                  "-h", "127.0.0.1", "-p", "\(host.redisPort)", "PING"], timeout: 30)
        return (run.stdout + run.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func test_aClientCertificateOpensTheClientPortsButNeitherJoinsNorServesAsAMember() throws {
        let certificates = try makeCertificates("certs", hosts: 2, clients: 1)
        let ca = "\(certificates)/ca.pem"
        let clientFiles = try client(certificates, 1, ca: ca)
        let hosts = [1, 2].map { makeHost(node: $0, extra: []) }
        let list = members(hosts)
        for host in hosts {
            host.useServeArguments(["--members", list, "--shards", "1", "--client-tls"] + fastTicks + serveFlags(certificates, host: host.node))
            host.tlsClient = clientFiles
            try host.start()
        }
        // Every request below (waitUntilServing's PING and STATUS too) goes through openssl
        // s_client with the client certificate.
        try waitUntilServing(hosts, shards: 1)
        _ = try callUntil(hosts[0], "PUT client-key client-value") { $0 == "OK" }
        try checkEqual(hosts[1].call("GET client-key"), "VALUE client-value", "GET with the client certificate")
        try checkEqual(try redisPing(hosts[1], clientFiles), "PONG", "redis-cli --tls with the client certificate")
        for host in hosts { try checkEqual(refusedCount(host), 0, "refused handshakes between the cluster's own hosts") }

        // The raft port: the CA signed the client certificate, the handshake completes, and the
        // host closes the connection before reading a frame, logs the refusal and counts it.
        let openssl = try requireTool("openssl")
        guard let intruder = OpenSSLLineClient(openssl: openssl, port: hosts[0].raftPort, ca: ca, certificate: clientFiles.certificate,
                                               key: clientFiles.key, timeoutSeconds: 20) else { throw HarnessError("cannot run openssl s_client") }
        _ = intruder.send("not a frame")
        try check(intruder.waitUntilEnded(timeoutSeconds: 20), "the raft port kept a connection with a client certificate open")
        intruder.close()
        try waitFor("host 1 logs the refused client certificate", timeout: 30) {
            hosts[0].log().contains("refused the TLS handshake from peer at 127.0.0.1:") && hosts[0].log().contains("lacks the extended key usage serverAuth")
        }
        try waitFor("host 1 counts the refusal", timeout: 30) { (refusedCount(hosts[0]) ?? 0) >= 1 }

        let refusedBefore = refusedCount(hosts[0]) ?? -1

        // The links: a "host 3" that accepts with the client certificate is refused by the hosts
        // that dial it, so it never becomes a member's peer.
        let fakePort = FreePort.next()
        let fake = Process()
        fake.executableURL = URL(fileURLWithPath: openssl)
        fake.arguments = ["s_server", "-quiet", "-accept", "\(fakePort)", "-cert", clientFiles.certificate, "-key", clientFiles.key,
                          "-CAfile", ca, "-Verify", "1"]
        fake.standardInput = Pipe()
        fake.standardOutput = FileHandle.nullDevice
        fake.standardError = FileHandle.nullDevice
        try fake.run()
        defer {
            kill(fake.processIdentifier, SIGKILL)
            fake.waitUntilExit()
        }
        _ = try callUntil(hosts[0], "ADD-OBSERVER 1 3 127.0.0.1:\(fakePort)") { $0 == "OK" }
        try waitFor("a host logs the refused handshake with the fake host 3", timeout: 30) {
            hosts.contains { $0.log().contains("refused the TLS handshake with peer at 127.0.0.1:\(fakePort)") }
        }
        try check(!hosts.contains { $0.log().contains("connected to peer at 127.0.0.1:\(fakePort)") }, "a host connected to the fake host 3")
        try waitFor("the refusal is counted", timeout: 30) { hosts.contains { (refusedCount($0) ?? 0) > (($0 === hosts[0]) ? refusedBefore : 0) } }
    }

    func test_aClientCAReplacesTheHostCAOnTheClientPortsAndReloadsOnSIGHUP() throws {
        let certificates = try makeCertificates("certs", hosts: 1, clients: 1)
        let clients = try makeCertificates("clients", hosts: 0, clients: 1)
        let clientCA = "\(root)/client-ca.pem"
        try FileManager.default.copyItem(atPath: "\(clients)/ca.pem", toPath: clientCA)
        let host = makeHost(node: 1, extra: ["--shards", "1", "--client-tls", "--client-ca", clientCA] + fastTicks + serveFlags(certificates, host: 1))
        let ownClient = try client(clients, 1, ca: "\(certificates)/ca.pem")
        host.tlsClient = ownClient
        try host.start()
        try waitUntilServing([host], shards: 1)
        _ = try callUntil(host, "PUT ca-key ca-value") { $0 == "OK" }
        try check(host.log().contains("client CA \(clientCA)"), "the start line does not name the client CA:\n\(host.logTail())")
        try checkEqual(try redisPing(host, ownClient), "PONG", "redis-cli --tls with a certificate of the client CA")

        // Certificates the host CA signed, a client's and a host's, are refused on both client ports.
        let hostCAClient = try client(certificates, 1, ca: "\(certificates)/ca.pem")
        let hostCertificate = TLSClientFiles(openssl: ownClient.openssl, ca: "\(certificates)/ca.pem", certificate: "\(certificates)/host-1.pem",
                                             key: "\(certificates)/host-1-key.pem")
        for files in [hostCAClient, hostCertificate] {
            let line = OpenSSLLineClient(openssl: files.openssl, port: host.clientPort, ca: files.ca, certificate: files.certificate, key: files.key)
            try check(line?.call("GET ca-key") == nil, "\(files.certificate) of the host CA was served on the line port")
            line?.close()
            let answer = try redisPing(host, files)
            try check(answer != "PONG", "\(files.certificate) of the host CA was served on the RESP port")
        }

        // SIGHUP reads --client-ca again: a new client CA's certificate is served, the old one's refused.
        let rotated = try makeCertificates("rotated", hosts: 0, clients: 1)
        let rotatedClient = try client(rotated, 1, ca: "\(certificates)/ca.pem")
        _ = rename(clientCA, clientCA + ".old")
        try FileManager.default.copyItem(atPath: "\(rotated)/ca.pem", toPath: clientCA)
        guard let pid = host.pid else { throw HarnessError("host not running") }
        kill(pid, SIGHUP)
        try waitFor("the reload is logged", timeout: 20) { host.log().contains("reloaded the TLS files") }
        host.tlsClient = rotatedClient
        try checkEqual(host.call("GET ca-key"), "VALUE ca-value", "a certificate of the reloaded client CA")
        host.tlsClient = ownClient
        try check(host.call("GET ca-key") == nil, "a certificate of the replaced client CA was served after the reload")

        // A bad --client-ca is refused at start naming the file, and --client-ca needs --client-tls.
        let missing = "\(root)/missing-ca.pem"
        for (what, flags, message) in [
            ("a missing client CA", ["--client-tls", "--client-ca", missing], "--client-ca \(missing) does not exist"),
            ("--client-ca without --client-tls", ["--client-ca", clientCA], "--client-ca needs --client-tls"),
        ] {
            let dataDirectory = "\(root)/refused-\(what.filter(\.isLetter))"
            let run = try runTool(binary, ["serve", "--data-dir", dataDirectory, "--raft-addr", "127.0.0.1:\(FreePort.next())",
                                           "--client-addr", "127.0.0.1:\(FreePort.next())", "--metrics-addr", "none", "--redis-addr", "none"]
                                  + serveFlags(certificates, host: 1) + flags, in: root, timeout: 30)
            try check(run.status != 0 && !run.timedOut, "\(what): not refused: \(run.text)")
            try check(run.stderr.contains(message), "\(what): the message does not say '\(message)': \(run.text)")
            try check(!FileManager.default.fileExists(atPath: dataDirectory), "\(what): the data dir was created before the refusal")
        }
    }

    func test_statusBenchAndExportSpeakTLS() throws {
        let certificates = try makeCertificates("certs", hosts: 1, clients: 1)
        let ca = "\(certificates)/ca.pem"
        let host = makeHost(node: 1, extra: ["--shards", "2", "--client-tls"] + fastTicks + serveFlags(certificates, host: 1))
        host.tlsClient = try client(certificates, 1, ca: ca)
        try host.start()
        try waitUntilServing([host], shards: 2)
        let tls = ["--tls-ca", ca, "--tls-cert", "\(certificates)/client-1.pem", "--tls-key", "\(certificates)/client-1-key.pem"]

        let status = try runTool(binary, ["status", "--addr", host.clientAddress] + tls, in: root)
        try checkEqual(status.status, 0, "flotilla status over TLS: \(status.text)")
        try checkEqual(status.stdout.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.contains("| leader ") }.count, 2,
                       "one leader per shard in flotilla status: \(status.stdout)")

        for (protocolName, address) in [("line", host.clientAddress), ("redis", host.redisAddress)] {
            let bench = try runTool(binary, ["bench", "--addr", address, "--protocol", protocolName, "--connections", "2", "--pipeline", "4",
                                             "--ops", "200", "--reads", "0.5", "--keys", "50", "--key-prefix", "tls-\(protocolName)-"] + tls,
                                    in: root, timeout: 120)
            try checkEqual(bench.status, 0, "flotilla bench --protocol \(protocolName) over TLS: \(bench.text)")
            let summary = bench.stdout.split(separator: "\n").last.map(String.init) ?? ""
            try check(summary.hasPrefix("ops/s=") && summary.hasSuffix(" errors=0") && !summary.hasPrefix("ops/s=0 "),
                      "the summary of flotilla bench --protocol \(protocolName) over TLS: \(bench.stdout)")
        }
        let files = try XCTUnwrap(host.tlsClient)
        let size = try runWithInput(try requireTool("redis-cli"), ["--tls", "--cacert", ca, "--cert", files.certificate, "--key", files.key,
                                                                   "-h", "127.0.0.1", "-p", "\(host.redisPort)", "DBSIZE"], timeout: 30)
        try check((Int(size.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0, "no key the TLS bench wrote: \(size)")

        let exportDirectory = "\(root)/export"
        let export = try runTool(binary, ["export", "--addr", host.clientAddress, "--dir", exportDirectory] + tls, in: root)
        try checkEqual(export.status, 0, "flotilla export over TLS: \(export.text)")
        try check(export.stdout.contains("shard 1: OK") && export.stdout.contains("shard 2: OK"), "flotilla export over TLS: \(export.stdout)")

        // Plain TCP on the TLS port, and TLS without the client certificate the host requires, fail.
        let plain = try runTool(binary, ["status", "--addr", host.clientAddress, "--timeout", "5"], in: root)
        try check(plain.status != 0 && !plain.timedOut, "flotilla status in plain TCP on a TLS port: \(plain.text)")
        let anonymous = try runTool(binary, ["status", "--addr", host.clientAddress, "--timeout", "5", "--tls-ca", ca], in: root)
        try check(anonymous.status != 0 && !anonymous.timedOut, "flotilla status without a client certificate: \(anonymous.text)")
        let benchAnonymous = try runTool(binary, ["bench", "--addr", host.clientAddress, "--connections", "1", "--ops", "10", "--tls-ca", ca],
                                         in: root, timeout: 60)
        try check(benchAnonymous.status != 0 || !benchAnonymous.stdout.hasSuffix("errors=0\n"),
                  "flotilla bench without a client certificate: \(benchAnonymous.text)")
        let halfFlags = try runTool(binary, ["status", "--addr", host.clientAddress, "--tls-ca", ca, "--tls-cert", "\(certificates)/client-1.pem"], in: root)
        try check(halfFlags.status != 0 && halfFlags.stderr.contains("--tls-cert given without --tls-key"), "--tls-cert alone: \(halfFlags.text)")
    }
}
