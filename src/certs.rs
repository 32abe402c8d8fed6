//! # Development certificates for the cluster bus
//!
//! [`generate`] writes a cluster CA and one certificate per node, ready for
//! the bus's mutual TLS (`redraft_cluster::bus`):
//!
//! - `ca.pem`, `ca-key.pem`: the cluster CA. If both already exist in the
//!   directory they are reused, so nodes added later join the same
//!   cluster; if only one of them exists, generation fails rather than
//!   replace a CA that other nodes may trust.
//! - `<name>.pem`, `<name>-key.pem` per node: an ECDSA P-256 certificate
//!   signed by the CA, valid for both server and client authentication,
//!   whose subject alternative names are the node's IP addresses,
//!   `localhost` and [`TLS_SERVER_NAME`] (`redraft-node`), the fixed name
//!   every bus client verifies its peer against. Existing node files are
//!   replaced.
//!
//! Private keys are written readable by their owner only (on Unix).
//!
//! ## CAVEATS
//! - Meant for development and tests: no revocation, and rcgen's default
//!   validity (a very long one) is kept.

use std::fs;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

pub use redraft_cluster::bus::TLS_SERVER_NAME;

/// File name of the CA certificate.
pub const CA_CERT: &str = "ca.pem";
/// File name of the CA key.
pub const CA_KEY: &str = "ca-key.pem";

fn err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("certificate generation: {e}"))
}

/// Writes the CA (unless `dir` already has one) and a certificate and key
/// for each `(name, addresses)` of `nodes` into `dir` (created if missing).
pub fn generate(dir: &Path, nodes: &[(String, Vec<IpAddr>)]) -> io::Result<()> {
    for (name, _) in nodes {
        check_name(name)?;
    }
    fs::create_dir_all(dir)?;
    let ca = ca(dir)?;
    for (name, ips) in nodes {
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, name.as_str());
        params.subject_alt_names = vec![
            SanType::DnsName(TLS_SERVER_NAME.try_into().map_err(err)?),
            SanType::DnsName("localhost".try_into().map_err(err)?),
        ];
        params
            .subject_alt_names
            .extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().map_err(err)?;
        let cert = params.signed_by(&key, &ca).map_err(err)?;
        write(
            &dir.join(format!("{name}.pem")),
            cert.pem().as_bytes(),
            false,
        )?;
        write(
            &dir.join(format!("{name}-key.pem")),
            key.serialize_pem().as_bytes(),
            true,
        )?;
    }
    Ok(())
}

/// A node name must make a plain file name.
fn check_name(name: &str) -> io::Result<()> {
    let ok = !name.is_empty()
        && name != "ca"
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("node name {name:?}: use letters, digits, '-', '_' or '.' (and not \"ca\")"),
        ))
    }
}

/// Loads the CA in `dir`, or creates it when neither file exists.
fn ca(dir: &Path) -> io::Result<Issuer<'static, KeyPair>> {
    let cert_path = dir.join(CA_CERT);
    let key_path = dir.join(CA_KEY);
    match (cert_path.exists(), key_path.exists()) {
        (true, true) => {
            let key = KeyPair::from_pem(&fs::read_to_string(&key_path)?).map_err(err)?;
            Issuer::from_ca_cert_pem(&fs::read_to_string(&cert_path)?, key).map_err(err)
        }
        (false, false) => {
            let mut params = CertificateParams::default();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params
                .distinguished_name
                .push(DnType::CommonName, "redraft cluster CA");
            params.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ];
            let key = KeyPair::generate().map_err(err)?;
            let cert = params.self_signed(&key).map_err(err)?;
            write(&key_path, key.serialize_pem().as_bytes(), true)?;
            write(&cert_path, cert.pem().as_bytes(), false)?;
            Ok(Issuer::new(params, key))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} has only one of {CA_CERT} and {CA_KEY}; refusing to replace the CA",
                dir.display()
            ),
        )),
    }
}

fn write(path: &Path, data: &[u8], private: bool) -> io::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut f = opts
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    f.write_all(data)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use redraft_cluster::bus::{Bus, BusConfig, BusInbox, TlsPaths};

    use super::*;

    #[derive(Default)]
    struct Count(parking_lot::Mutex<Vec<u64>>);

    impl BusInbox for Count {
        fn deliver(&self, from_node: u64, msgs: Vec<(u64, redraft_cluster::bus::RaftMessage)>) {
            self.0.lock().extend(msgs.iter().map(|_| from_node));
        }
        fn unreachable(&self, _: u64) {}
        fn snapshot_status(&self, _: u64, _: u64, _: bool) {}
    }

    fn paths(dir: &Path, name: &str) -> TlsPaths {
        TlsPaths {
            cert: dir.join(format!("{name}.pem")),
            key: dir.join(format!("{name}-key.pem")),
            ca: dir.join(CA_CERT),
        }
    }

    #[test]
    fn rejects_bad_names_and_half_a_ca() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["", "ca", "../x", "a/b", ".hidden"] {
            let e = generate(dir.path(), &[(bad.to_string(), vec![])]).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
        fs::write(dir.path().join(CA_CERT), "x").unwrap();
        let e = generate(dir.path(), &[("n1".into(), vec![])]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(dir.path().join(CA_CERT)).unwrap(), b"x");
    }

    /// Certificates from two runs (the second reusing the CA) carry bus
    /// traffic between each other over mutual TLS.
    #[test]
    fn generated_certificates_work_for_the_bus() {
        let dir = tempfile::tempdir().unwrap();
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        generate(dir.path(), &[("n1".into(), vec![lo])]).unwrap();
        let ca_before = fs::read(dir.path().join(CA_CERT)).unwrap();
        generate(
            dir.path(),
            &[("n2".into(), vec![lo, "::1".parse().unwrap()])],
        )
        .unwrap();
        assert_eq!(
            fs::read(dir.path().join(CA_CERT)).unwrap(),
            ca_before,
            "CA reused"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("n2-key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "key is private");
        }

        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let start = |node: u64, name: &str, inbox: Arc<Count>| {
                let cfg = BusConfig {
                    node_id: node,
                    listen: "127.0.0.1:0".parse().unwrap(),
                    tls: Some(paths(dir.path(), name)),
                };
                async move { Bus::start(cfg, inbox).await.expect("bus starts with TLS") }
            };
            let (i1, i2) = (Arc::new(Count::default()), Arc::new(Count::default()));
            let b1 = start(1, "n1", i1.clone()).await;
            let b2 = start(2, "n2", i2.clone()).await;
            b1.set_peer(2, b2.local_addr());
            b2.set_peer(1, b1.local_addr());
            let msg = redraft_cluster::bus::RaftMessage::default();
            b1.send(2, vec![(0, msg.clone())]);
            b2.send(1, vec![(0, msg)]);
            let deadline = Instant::now() + Duration::from_secs(20);
            while i1.0.lock().is_empty() || i2.0.lock().is_empty() {
                assert!(Instant::now() < deadline, "no traffic over TLS");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(*i1.0.lock(), vec![2]);
            assert_eq!(*i2.0.lock(), vec![1]);
            b1.shutdown();
            b2.shutdown();
        });
    }
}
