//! Bus tests: real buses on loopback ports.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use raft::eraftpb::{Entry, Message, MessageType};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

use super::proto::bus_client::BusClient;
use super::proto::{Envelope, RaftBatch};
use super::*;

const DEADLINE: Duration = Duration::from_secs(20);

/// Records everything the bus hands over.
#[derive(Default)]
struct Recorder {
    delivered: Mutex<Vec<(u64, u64, Message)>>,
    unreachable: Mutex<Vec<u64>>,
    snapshots: Mutex<Vec<(u64, u64, bool)>>,
}

impl BusInbox for Recorder {
    fn deliver(&self, from_node: u64, msgs: Vec<(u64, Message)>) {
        let mut d = self.delivered.lock();
        for (shard, m) in msgs {
            d.push((from_node, shard, m));
        }
    }
    fn unreachable(&self, node: u64) {
        self.unreachable.lock().push(node);
    }
    fn snapshot_status(&self, shard: u64, node: u64, ok: bool) {
        self.snapshots.lock().push((shard, node, ok));
    }
}

impl Recorder {
    fn delivered_count(&self) -> usize {
        self.delivered.lock().len()
    }
}

/// Polls `cond` every few ms until it holds or `DEADLINE` passes.
async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn start(node: u64, tls: Option<TlsPaths>) -> (Bus, Arc<Recorder>) {
    let inbox = Arc::new(Recorder::default());
    let bus = Bus::start(
        BusConfig {
            node_id: node,
            listen: loopback(),
            tls,
        },
        inbox.clone(),
    )
    .await
    .expect("bus starts");
    (bus, inbox)
}

fn append(from: u64, to: u64, seq: u64) -> Message {
    let mut m = Message::default();
    m.set_msg_type(MessageType::MsgAppend);
    m.from = from;
    m.to = to;
    m.term = 3;
    m.index = seq;
    let e = Entry {
        index: seq + 1,
        term: 3,
        data: format!("entry-{seq}").into_bytes().into(),
        ..Default::default()
    };
    m.entries = vec![e].into();
    m
}

fn snapshot_msg(from: u64, to: u64, data: Vec<u8>) -> Message {
    let mut m = Message::default();
    m.set_msg_type(MessageType::MsgSnapshot);
    m.from = from;
    m.to = to;
    m.term = 7;
    let snap = m.mut_snapshot();
    snap.mut_metadata().index = 1234;
    snap.mut_metadata().term = 6;
    snap.mut_metadata().mut_conf_state().voters = vec![1, 2, 3];
    snap.set_data(data.into());
    m
}

/// Messages from `from` for each shard, in arrival order, as `index`es.
fn per_shard(delivered: &[(u64, u64, Message)], from: u64, shards: u64) -> Vec<Vec<u64>> {
    let mut out = vec![Vec::new(); shards as usize];
    for (f, shard, m) in delivered {
        if *f == from {
            out[*shard as usize].push(m.index);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_exchange_messages_in_order() {
    let (b1, i1) = start(1, None).await;
    let (b2, i2) = start(2, None).await;
    let (b3, i3) = start(3, None).await;
    assert!(b1.is_plaintext());
    let buses = [(1, &b1), (2, &b2), (3, &b3)];
    for (id, bus) in buses {
        for (peer, other) in buses {
            if peer != id {
                bus.set_peer(peer, other.local_addr());
            }
        }
    }

    const SHARDS: u64 = 40;
    const PER_SHARD: u64 = 100;
    // Every node sends from a plain thread, as the Raft store does, in
    // small calls that interleave shards.
    let mut senders = Vec::new();
    for (id, bus) in buses {
        let bus = bus.clone();
        senders.push(std::thread::spawn(move || {
            for seq in 0..PER_SHARD {
                for to in [1u64, 2, 3] {
                    if to == id {
                        continue;
                    }
                    let msgs = (0..SHARDS).map(|s| (s, append(id, to, seq))).collect();
                    bus.send(to, msgs);
                }
            }
        }));
    }
    for s in senders {
        s.join().unwrap();
    }

    let expected = (2 * SHARDS * PER_SHARD) as usize;
    for (name, inbox) in [("node 1", &i1), ("node 2", &i2), ("node 3", &i3)] {
        wait_for(name, || inbox.delivered_count() >= expected).await;
    }
    for (id, inbox) in [(1u64, &i1), (2, &i2), (3, &i3)] {
        let delivered = inbox.delivered.lock();
        assert_eq!(delivered.len(), expected, "node {id} got duplicates");
        for from in [1u64, 2, 3].into_iter().filter(|f| *f != id) {
            let shards = per_shard(&delivered, from, SHARDS);
            for (shard, seqs) in shards.iter().enumerate() {
                let want: Vec<u64> = (0..PER_SHARD).collect();
                assert_eq!(seqs, &want, "node {id}: order from {from} in shard {shard}");
            }
        }
        // The payload survives the trip.
        let (_, _, m) = &delivered[0];
        assert_eq!(m.get_msg_type(), MessageType::MsgAppend);
        assert_eq!(
            m.entries[0].data.as_ref(),
            format!("entry-{}", m.index).as_bytes()
        );
    }
    for (bus, _) in [(&b1, 1), (&b2, 2), (&b3, 3)] {
        let st = bus.stats();
        assert_eq!(st.messages_sent, expected as u64);
        assert_eq!(st.messages_received, expected as u64);
        assert_eq!(st.send_dropped, 0);
        assert!(bus.is_connected(if bus.node_id() == 1 { 2 } else { 1 }));
    }
    for b in [&b1, &b2, &b3] {
        b.shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_snapshot_arrives_intact() {
    let (b1, i1) = start(1, None).await;
    let (b2, i2) = start(2, None).await;
    b1.set_peer(2, b2.local_addr());

    let data: Vec<u8> = (0..20 * 1024 * 1024 + 12345u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let snap = snapshot_msg(1, 2, data.clone());
    // A snapshot and ordinary messages in one call: the snapshot takes its
    // own path, the others are not held up.
    let b = b1.clone();
    std::thread::spawn(move || {
        b.send(
            2,
            vec![(5, append(1, 2, 0)), (9, snap), (5, append(1, 2, 1))],
        )
    })
    .join()
    .unwrap();

    wait_for("snapshot status", || !i1.snapshots.lock().is_empty()).await;
    assert_eq!(*i1.snapshots.lock(), vec![(9, 2, true)]);
    wait_for("all three messages", || i2.delivered_count() >= 3).await;
    let delivered = i2.delivered.lock();
    let appends: Vec<_> = delivered
        .iter()
        .filter(|(_, _, m)| m.get_msg_type() == MessageType::MsgAppend)
        .map(|(f, s, m)| (*f, *s, m.index))
        .collect();
    assert_eq!(appends, vec![(1, 5, 0), (1, 5, 1)]);
    let (from, shard, got) = delivered
        .iter()
        .find(|(_, _, m)| m.get_msg_type() == MessageType::MsgSnapshot)
        .expect("snapshot delivered");
    assert_eq!((*from, *shard), (1, 9));
    assert_eq!(got.term, 7);
    assert_eq!(got.get_snapshot().get_metadata().index, 1234);
    assert_eq!(
        got.get_snapshot().get_metadata().get_conf_state().voters,
        vec![1, 2, 3]
    );
    assert_eq!(got.get_snapshot().get_data().len(), data.len());
    assert!(
        got.get_snapshot().get_data() == data.as_slice(),
        "snapshot data differs"
    );
    assert_eq!(b1.stats().snapshots_sent, 1);
    assert_eq!(b2.stats().snapshots_received, 1);
    b1.shutdown();
    b2.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_peer_is_reported_and_snapshot_fails() {
    let (b1, i1) = start(1, None).await;
    // An address nobody listens on: bind, note the port, close.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    b1.set_peer(2, dead);
    b1.send(2, vec![(1, snapshot_msg(1, 2, vec![1, 2, 3]))]);
    wait_for("snapshot failure", || !i1.snapshots.lock().is_empty()).await;
    assert_eq!(*i1.snapshots.lock(), vec![(1, 2, false)]);
    wait_for("unreachable", || i1.unreachable.lock().contains(&2)).await;
    assert!(!b1.is_connected(2));

    // Once known down, sends are dropped (and counted) without queueing.
    wait_for("drops while down", || {
        b1.send(2, vec![(1, append(1, 2, 0))]);
        b1.stats().send_dropped > 0
    })
    .await;

    // Sending to a node that was never set: dropped, reported.
    b1.send(42, vec![(1, append(1, 42, 0))]);
    wait_for("unknown peer unreachable", || {
        i1.unreachable.lock().contains(&42)
    })
    .await;

    // Rate limit: a burst of failed sends to another unknown node reports
    // at most once per interval.
    let burst = Instant::now();
    for i in 0..1000 {
        b1.send(43, vec![(1, append(1, 43, i))]);
    }
    let intervals = burst.elapsed().as_millis() / UNREACHABLE_INTERVAL.as_millis();
    wait_for("a report", || i1.unreachable.lock().contains(&43)).await;
    let reports = i1.unreachable.lock().iter().filter(|n| **n == 43).count();
    assert!(
        reports as u128 <= intervals + 1,
        "{reports} reports in {intervals} intervals"
    );
    b1.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_peer_restart() {
    let (b1, i1) = start(1, None).await;
    let (b2, i2) = start(2, None).await;
    let addr2 = b2.local_addr();
    b1.set_peer(2, addr2);
    b1.send(2, vec![(1, append(1, 2, 0))]);
    wait_for("first delivery", || i2.delivered_count() == 1).await;

    b2.shutdown();
    wait_for("peer down noticed", || i1.unreachable.lock().contains(&2)).await;
    assert!(!b1.is_connected(2));

    // The peer comes back on the same address.
    let i2b = Arc::new(Recorder::default());
    let b2b = {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let cfg = BusConfig {
                node_id: 2,
                listen: addr2,
                tls: None,
            };
            match Bus::start(cfg, i2b.clone()).await {
                Ok(b) => break b,
                Err(e) => {
                    assert!(Instant::now() < deadline, "rebinding {addr2}: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    };
    let started = Instant::now();
    wait_for("reconnect", || b1.is_connected(2)).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "reconnect took {:?}",
        started.elapsed()
    );
    let mut seq = 1;
    wait_for("delivery after restart", || {
        b1.send(2, vec![(1, append(1, 2, seq))]);
        seq += 1;
        i2b.delivered_count() > 0
    })
    .await;
    assert_eq!(
        i2.delivered_count(),
        1,
        "the stopped bus delivers nothing more"
    );
    b1.shutdown();
    b2b.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_are_dropped() {
    let (b2, i2) = start(2, None).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", b2.local_addr()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = BusClient::new(channel);
    let good = protobuf::Message::write_to_bytes(&append(1, 2, 77)).unwrap();
    let batch = RaftBatch {
        from_node: 1,
        msgs: vec![
            Envelope {
                shard: 3,
                msg: bytes::Bytes::from_static(&[0xff, 0xff, 0xff, 0x01, 0x02]),
            },
            Envelope {
                shard: 4,
                msg: good.into(),
            },
        ],
    };
    client
        .raft(tokio_stream::iter(vec![batch]))
        .await
        .expect("stream accepted");
    wait_for("good message", || i2.delivered_count() == 1).await;
    assert_eq!(i2.delivered.lock()[0].1, 4);
    assert_eq!(i2.delivered.lock()[0].2.index, 77);
    assert_eq!(b2.stats().malformed, 1);

    // A snapshot stream whose first chunk is garbage is refused.
    let chunk = super::proto::SnapshotChunk {
        from_node: 1,
        shard: 1,
        msg: bytes::Bytes::from_static(&[0xff; 8]),
        data: bytes::Bytes::new(),
        total_len: 0,
    };
    let err = client
        .snapshot(tokio_stream::iter(vec![chunk]))
        .await
        .expect_err("garbage snapshot refused");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    // A snapshot shorter than announced is refused too.
    let mut header = snapshot_msg(1, 2, Vec::new());
    header.mut_snapshot().set_data(Default::default());
    let chunk = super::proto::SnapshotChunk {
        from_node: 1,
        shard: 1,
        msg: protobuf::Message::write_to_bytes(&header).unwrap().into(),
        data: bytes::Bytes::from_static(b"abc"),
        total_len: 10,
    };
    let err = client
        .snapshot(tokio_stream::iter(vec![chunk]))
        .await
        .expect_err("short snapshot refused");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert_eq!(i2.delivered_count(), 1);
    assert_eq!(b2.stats().malformed, 3);
    b2.shutdown();
}

// ---- TLS ----

fn new_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// Writes a node certificate signed by `ca` (SANs: the fixed bus name,
/// 127.0.0.1, localhost) and the CA into `dir`.
fn node_files(dir: &Path, name: &str, ca: &CertifiedIssuer<'static, KeyPair>) -> TlsPaths {
    let mut params = CertificateParams::new(vec![
        TLS_SERVER_NAME.to_string(),
        "127.0.0.1".to_string(),
        "localhost".to_string(),
    ])
    .unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, ca).unwrap();
    let paths = TlsPaths {
        cert: dir.join(format!("{name}.pem")),
        key: dir.join(format!("{name}-key.pem")),
        ca: dir.join(format!("{name}-ca.pem")),
    };
    std::fs::write(&paths.cert, cert.pem()).unwrap();
    std::fs::write(&paths.key, key.serialize_pem()).unwrap();
    std::fs::write(&paths.ca, ca.pem()).unwrap();
    paths
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_carries_messages() {
    let dir = tempfile::tempdir().unwrap();
    let ca = new_ca("cluster CA");
    let (b1, i1) = start(1, Some(node_files(dir.path(), "n1", &ca))).await;
    let (b2, i2) = start(2, Some(node_files(dir.path(), "n2", &ca))).await;
    assert!(!b1.is_plaintext());
    b1.set_peer(2, b2.local_addr());
    let msgs: Vec<_> = (0..500).map(|i| (i % 7, append(1, 2, i))).collect();
    b1.send(2, msgs);
    wait_for("delivery over TLS", || i2.delivered_count() == 500).await;
    let seqs: Vec<u64> = i2
        .delivered
        .lock()
        .iter()
        .map(|(_, _, m)| m.index)
        .collect();
    assert_eq!(seqs, (0..500).collect::<Vec<_>>());

    // Snapshots use TLS too.
    let b = b1.clone();
    let data = vec![9u8; 3 << 20];
    std::thread::spawn(move || b.send(2, vec![(3, snapshot_msg(1, 2, data))]))
        .join()
        .unwrap();
    wait_for("snapshot over TLS", || !i1.snapshots.lock().is_empty()).await;
    assert_eq!(*i1.snapshots.lock(), vec![(3, 2, true)]);
    b1.shutdown();
    b2.shutdown();
}

/// A raw TLS client: handshakes with `server` trusting `trust_ca`,
/// presenting `client` (or no certificate), then writes the HTTP/2 preface
/// and reads. Returns what the read gave.
async fn raw_tls_probe(
    server: SocketAddr,
    trust_ca: &Path,
    client: Option<&TlsPaths>,
) -> std::io::Result<usize> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(trust_ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match client {
        Some(p) => {
            let certs = CertificateDer::pem_file_iter(&p.cert)
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_file(&p.key).unwrap();
            builder.with_client_auth_cert(certs, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(server).await?;
    let name = ServerName::try_from(TLS_SERVER_NAME).unwrap();
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await?;
    tls.flush().await?;
    let mut buf = [0u8; 64];
    tokio::time::timeout(DEADLINE, tls.read(&mut buf))
        .await
        .expect("server answers or closes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_refuses_peers_outside_the_cluster_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = new_ca("cluster CA");
    let rogue_ca = new_ca("rogue CA");
    let good = node_files(dir.path(), "n1", &ca);
    let (b1, i1) = start(1, Some(good.clone())).await;

    // A node whose certificate comes from another CA: its messages never
    // arrive, and it sees the peer as unreachable.
    let mut rogue = node_files(dir.path(), "rogue", &rogue_ca);
    // It trusts the cluster CA for the server side, so only its own
    // client certificate is at fault.
    rogue.ca = good.ca.clone();
    let rogue_inbox = Arc::new(Recorder::default());
    let err = Bus::start(
        BusConfig {
            node_id: 9,
            listen: loopback(),
            tls: Some(rogue.clone()),
        },
        rogue_inbox.clone(),
    )
    .await
    .expect_err("a certificate not from the CA is refused at start");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");

    // So probe at the TLS level: the server refuses the handshake of a
    // client certificate from another CA, and of a client without one.
    let refused = raw_tls_probe(b1.local_addr(), &good.ca, Some(&rogue)).await;
    let e = refused.expect_err("foreign client certificate refused");
    assert!(
        e.to_string().to_lowercase().contains("alert"),
        "expected a TLS alert, got {e}"
    );
    let refused = raw_tls_probe(b1.local_addr(), &good.ca, None).await;
    let e = refused.expect_err("client without certificate refused");
    assert!(
        e.to_string().to_lowercase().contains("alert"),
        "expected a TLS alert, got {e}"
    );
    // Control: the same probe with a cluster certificate gets an answer
    // (the server's HTTP/2 SETTINGS frame).
    let other_good = node_files(dir.path(), "n3", &ca);
    let n = raw_tls_probe(b1.local_addr(), &good.ca, Some(&other_good))
        .await
        .expect("cluster client accepted");
    assert!(n > 0, "the server speaks HTTP/2 to a cluster client");

    // And through the bus: a rogue node whose certificate comes from its
    // own CA, but which trusts both CAs (so it accepts the server, and
    // only its own client certificate is at fault), delivers nothing.
    let rogue_own = node_files(dir.path(), "rogue2", &rogue_ca);
    let both = dir.path().join("both-ca.pem");
    std::fs::write(&both, format!("{}{}", rogue_ca.pem(), ca.pem())).unwrap();
    let rogue_own = TlsPaths {
        ca: both,
        ..rogue_own
    };
    let (rb, ri) = start(9, Some(rogue_own)).await;
    rb.set_peer(1, b1.local_addr());
    rb.send(1, vec![(1, append(9, 1, 0))]);
    wait_for("rogue sees the peer as unreachable", || {
        ri.unreachable.lock().contains(&1)
    })
    .await;
    assert_eq!(
        i1.delivered_count(),
        0,
        "nothing from the rogue was delivered"
    );
    assert_eq!(b1.stats().messages_received, 0);
    rb.shutdown();
    b1.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tls_files_fail_start() {
    let dir = tempfile::tempdir().unwrap();
    let ca = new_ca("cluster CA");
    let good = node_files(dir.path(), "n1", &ca);
    let inbox: Arc<dyn BusInbox> = Arc::new(Recorder::default());
    let try_start = |tls: TlsPaths| {
        let inbox = inbox.clone();
        async move {
            Bus::start(
                BusConfig {
                    node_id: 1,
                    listen: loopback(),
                    tls: Some(tls),
                },
                inbox,
            )
            .await
        }
    };
    let missing = TlsPaths {
        cert: dir.path().join("nope.pem"),
        ..good.clone()
    };
    let e = try_start(missing).await.expect_err("missing cert");
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);

    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a pem file").unwrap();
    for tls in [
        TlsPaths {
            cert: garbage.clone(),
            ..good.clone()
        },
        TlsPaths {
            key: garbage.clone(),
            ..good.clone()
        },
        TlsPaths {
            ca: garbage.clone(),
            ..good.clone()
        },
        // A key that does not belong to the certificate.
        TlsPaths {
            key: node_files(dir.path(), "n2", &ca).key,
            ..good.clone()
        },
    ] {
        let e = try_start(tls.clone()).await.expect_err("invalid TLS files");
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{tls:?}: {e}");
    }
    // Without the bus name among its SANs a certificate is refused.
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    let no_name = TlsPaths {
        cert: dir.path().join("noname.pem"),
        key: dir.path().join("noname-key.pem"),
        ca: good.ca.clone(),
    };
    std::fs::write(&no_name.cert, cert.pem()).unwrap();
    std::fs::write(&no_name.key, key.serialize_pem()).unwrap();
    let e = try_start(no_name)
        .await
        .expect_err("cert without the bus name");
    assert!(e.to_string().contains(TLS_SERVER_NAME), "{e}");
}

/// A writer capturing log output.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn plaintext_bus_warns() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (bus, _) = start(1, None).await;
        assert!(bus.is_plaintext());
        bus.shutdown();

        let dir = tempfile::tempdir().unwrap();
        let ca = new_ca("cluster CA");
        let before = logs.0.lock().len();
        let (tls_bus, _) = start(2, Some(node_files(dir.path(), "n2", &ca))).await;
        assert!(!tls_bus.is_plaintext());
        assert_eq!(logs.0.lock().len(), before, "no warning with TLS");
        tls_bus.shutdown();
    });
    let text = String::from_utf8(logs.0.lock().clone()).unwrap();
    assert!(text.contains("WARN"), "{text}");
    assert!(text.contains("PLAINTEXT"), "{text}");
}
