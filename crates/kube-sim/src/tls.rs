//! HTTPS for the simulated API, as kube-apiserver's secure port serves it: a serving
//! certificate signed by a CA of its own, generated at start as kube-apiserver does into its
//! `--cert-dir` when it is given no `--tls-cert-file`.
//!
//! Clients that authenticate need it: kubectl (client-go's `clientcmd`) sends a bearer token
//! only over TLS, so a cluster with a token file is served with [`crate::SimCluster::serve_tls`]
//! for kubectl, and its CA goes into the kubeconfig (`certificate-authority-data`).
//!
//! May call: nothing else of the crate.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why no serving certificate could be made or used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot generate the serving certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot use the serving certificate: {0}")]
    Config(#[from] rustls::Error),
}

/// A CA and the server certificate it signed, with the server's key.
#[derive(Clone)]
pub struct ServingCert {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key_der: Vec<u8>,
}

/// Never prints the key.
impl std::fmt::Debug for ServingCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServingCert").finish_non_exhaustive()
    }
}

/// Where [`ServingCert::write`] put the files.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// The CA certificate, for `kubectl --certificate-authority`.
    pub ca: PathBuf,
    /// The server certificate followed by the CA's (`--tls-cert-file`).
    pub cert: PathBuf,
    /// The server's private key (`--tls-private-key-file`), readable by its owner only.
    pub key: PathBuf,
}

impl ServingCert {
    /// A new CA and a certificate for `hosts` (names and IP addresses, e.g. `127.0.0.1`,
    /// `localhost`) signed by it; keys are ECDSA P-256, fresh on every call.
    pub fn generate(hosts: &[String]) -> Result<Self, TlsError> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "kube-sim-ca");
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
        let mut params = CertificateParams::new(hosts.to_vec())?;
        params.distinguished_name.push(DnType::CommonName, "kube-apiserver");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &ca)?;
        Ok(Self {
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            chain: vec![cert.der().clone(), ca.der().clone()],
            key_der: key.serialize_der(),
        })
    }

    /// The CA certificate (PEM) that clients trust.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Writes `ca.crt`, `apiserver.crt` and `apiserver.key` into `dir` (created if missing).
    pub fn write(&self, dir: &Path) -> std::io::Result<CertFiles> {
        std::fs::create_dir_all(dir)?;
        let files =
            CertFiles { ca: dir.join("ca.crt"), cert: dir.join("apiserver.crt"), key: dir.join("apiserver.key") };
        std::fs::write(&files.ca, &self.ca_pem)?;
        std::fs::write(&files.cert, format!("{}{}", self.cert_pem, self.ca_pem))?;
        write_private(&files.key, self.key_pem.as_bytes())?;
        Ok(files)
    }

    /// The TLS side of the server: this certificate, HTTP/1.1 offered by ALPN.
    pub(crate) fn acceptor(&self) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}

/// Writes a file only its owner may read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}
