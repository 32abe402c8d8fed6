//! Loading and checking the bus's TLS material.
//!
//! Everything is checked at start, so a node with a bad certificate fails
//! to start instead of failing every connection later: the files must be
//! readable PEM, the key must match the certificate, and the certificate
//! must chain to the CA and carry [`TLS_SERVER_NAME`] as a DNS SAN.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

use super::TlsPaths;

/// The name every node certificate carries as a DNS subject alternative
/// name, and the name a bus client verifies the server against (and sends
/// as SNI). Nodes connect by IP address; checking a fixed name instead of
/// the IP keeps a certificate valid when a node's address changes, and
/// still only admits certificates issued by the cluster CA.
pub const TLS_SERVER_NAME: &str = "redraft-node";

/// A TLS handshake that takes longer than this is abandoned.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// The tonic TLS configurations of one node.
pub(super) struct TlsMaterial {
    pub server: ServerTlsConfig,
    pub client: ClientTlsConfig,
}

fn read(path: &Path, what: &str) -> io::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| io::Error::new(e.kind(), format!("bus TLS {what} {}: {e}", path.display())))
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn parse_certs(pem: &[u8], path: &Path, what: &str) -> io::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("bus TLS {what} {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(invalid(format!(
            "bus TLS {what} {}: no certificate found",
            path.display()
        )));
    }
    Ok(certs)
}

/// The crypto provider the bus uses: rustls with ring. Also installed as
/// the process default (if no other is), because tonic builds its rustls
/// configurations with the default provider.
pub(super) fn provider() -> Arc<CryptoProvider> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let _ = CryptoProvider::install_default((*provider).clone());
    provider
}

/// Reads and checks the files named by `paths`.
pub(super) fn load(paths: &TlsPaths) -> io::Result<TlsMaterial> {
    let cert_pem = read(&paths.cert, "certificate")?;
    let key_pem = read(&paths.key, "key")?;
    let ca_pem = read(&paths.ca, "CA certificate")?;

    let certs = parse_certs(&cert_pem, &paths.cert, "certificate")?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| invalid(format!("bus TLS key {}: {e}", paths.key.display())))?;
    let cas = parse_certs(&ca_pem, &paths.ca, "CA certificate")?;
    let mut roots = RootCertStore::empty();
    for ca in cas {
        roots
            .add(ca)
            .map_err(|e| invalid(format!("bus TLS CA {}: {e}", paths.ca.display())))?;
    }
    let roots = Arc::new(roots);
    let provider = provider();

    // The key must match the certificate (rustls checks it here).
    let client_verifier =
        WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|e| invalid(format!("bus TLS CA {}: {e}", paths.ca.display())))?;
    rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(format!("bus TLS: {e}")))?
        .with_client_cert_verifier(client_verifier)
        .with_single_cert(certs.clone(), key.clone_key())
        .map_err(|e| {
            invalid(format!(
                "bus TLS certificate {} / key {}: {e}",
                paths.cert.display(),
                paths.key.display()
            ))
        })?;

    // Our own certificate must be one our peers accept.
    let server_verifier = WebPkiServerVerifier::builder_with_provider(roots, provider)
        .build()
        .map_err(|e| invalid(format!("bus TLS CA {}: {e}", paths.ca.display())))?;
    let name = ServerName::try_from(TLS_SERVER_NAME).expect("valid DNS name");
    server_verifier
        .verify_server_cert(&certs[0], &certs[1..], &name, &[], UnixTime::now())
        .map_err(|e| {
            invalid(format!(
                "bus TLS certificate {} is not valid for {TLS_SERVER_NAME:?} under CA {}: {e}",
                paths.cert.display(),
                paths.ca.display()
            ))
        })?;

    let identity = Identity::from_pem(&cert_pem, &key_pem);
    let ca = Certificate::from_pem(&ca_pem);
    Ok(TlsMaterial {
        server: ServerTlsConfig::new()
            .identity(identity.clone())
            .client_ca_root(ca.clone())
            .timeout(HANDSHAKE_TIMEOUT),
        client: ClientTlsConfig::new()
            .ca_certificate(ca)
            .identity(identity)
            .domain_name(TLS_SERVER_NAME)
            .timeout(HANDSHAKE_TIMEOUT),
    })
}
