//! TLS to PostgreSQL, for real: the local PostgreSQL speaks no TLS, so each test puts a small
//! front before it that answers PostgreSQL's SSLRequest as a TLS-enabled server does ('S',
//! then a TLS handshake with a certificate made here), or as a server without TLS ('N'), and
//! then pipes the bytes to PostgreSQL. The store and the lease connection go through it.
//!
//! PostgreSQL is found at `postgres://postgres@127.0.0.1:5432/test`, or wherever
//! `EARSHOT_TEST_POSTGRES` points; without it these tests are skipped (they fail under CI).
#![allow(clippy::unwrap_used)]

#[allow(unused_macros, unused_imports)]
mod backends;

use earshot_store::postgres::locks::LockSession;
use earshot_store::postgres::{PgOptions, PgStore};
use earshot_store::Store;
use rcgen::{BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// PostgreSQL's SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// A certificate authority made for one test.
struct Ca {
    cert: Certificate,
    key: KeyPair,
    pem: PathBuf,
}

fn ca(dir: &tempfile::TempDir, name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, format!("earshot test CA {name}"));
    let cert = params.self_signed(&key).unwrap();
    let pem = dir.path().join(format!("{name}.pem"));
    std::fs::write(&pem, cert.pem()).unwrap();
    Ca { cert, key, pem }
}

/// A server configuration whose certificate `ca` signed for `names`.
fn server(ca: &Ca, names: &[&str]) -> Arc<rustls::ServerConfig> {
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    let cert = params.signed_by(&key, &ca.cert, &ca.key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    Arc::new(config)
}

/// How the front answers an SSLRequest.
#[derive(Clone)]
enum Answer {
    Tls(Arc<rustls::ServerConfig>),
    NoTls,
}

/// A front on 127.0.0.1 before PostgreSQL, counting the TLS sessions it completed.
struct Front {
    port: u16,
    tls_sessions: Arc<AtomicUsize>,
}

async fn front(answer: Answer, upstream: String) -> Front {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let tls_sessions = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&tls_sessions);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (answer, upstream, count) = (answer.clone(), upstream.clone(), Arc::clone(&count));
            tokio::spawn(async move {
                // A refused handshake ends here; the client reports it.
                let _ = serve(client, answer, &upstream, &count).await;
            });
        }
    });
    Front { port, tls_sessions }
}

async fn serve(
    mut client: TcpStream,
    answer: Answer,
    upstream: &str,
    tls_sessions: &AtomicUsize,
) -> std::io::Result<()> {
    let mut first = [0u8; 8];
    client.read_exact(&mut first).await?;
    let mut server = TcpStream::connect(upstream).await?;
    if first != SSL_REQUEST {
        // A plaintext start-up message: pass it on as it is.
        server.write_all(&first).await?;
        tokio::io::copy_bidirectional(&mut client, &mut server).await?;
        return Ok(());
    }
    match answer {
        Answer::NoTls => {
            client.write_all(b"N").await?;
            tokio::io::copy_bidirectional(&mut client, &mut server).await?;
        }
        Answer::Tls(config) => {
            client.write_all(b"S").await?;
            let mut tls = tokio_rustls::TlsAcceptor::from(config)
                .accept(client)
                .await?;
            tls_sessions.fetch_add(1, Ordering::SeqCst);
            tokio::io::copy_bidirectional(&mut tls, &mut server).await?;
        }
    }
    Ok(())
}

/// A fresh database, the address PostgreSQL listens on and the user to sign in as; the
/// database is dropped when the test's closure is done.
async fn with_database<F, Fut>(test: F)
where
    F: FnOnce(String, String, String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some((admin, name, url)) = backends::fresh_database().await else {
        return;
    };
    let config: tokio_postgres::Config = url.parse().unwrap();
    let host = match &config.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
        #[cfg(unix)]
        tokio_postgres::config::Host::Unix(_) => panic!("the TLS tests need PostgreSQL on TCP"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let mut user = config.get_user().unwrap_or("postgres").to_string();
    if let Some(pw) = config.get_password() {
        user = format!("{user}:{}", String::from_utf8_lossy(pw));
    }
    let outcome = tokio::spawn(test(format!("{host}:{port}"), user, name.clone())).await;
    backends::drop_and_report(&admin, &name, outcome).await;
}

fn pem_arg(path: &std::path::Path) -> String {
    path.display()
        .to_string()
        .replace('%', "%25")
        .replace(' ', "%20")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_with_the_right_ca_connects_and_queries() {
    with_database(|upstream, user, db| async move {
        let dir = tempfile::tempdir().unwrap();
        let ca = ca(&dir, "right");
        let front = front(Answer::Tls(server(&ca, &["localhost"])), upstream).await;
        let url = format!(
            "postgres://{user}@localhost:{}/{db}?sslmode=verify-full&sslrootcert={}",
            front.port,
            pem_arg(&ca.pem)
        );
        let store = PgStore::connect_with(&url, PgOptions::default())
            .await
            .unwrap_or_else(|e| panic!("verify-full through the front: {e}"));
        let counts = store.counts().await.unwrap();
        assert_eq!(
            counts.posts, 0,
            "migrations ran and a query answered over TLS"
        );
        let leases = LockSession::connect(&url, PgOptions::default())
            .await
            .unwrap();
        assert!(leases.try_lock(7).await.unwrap());
        assert_eq!(leases.all_held().await.unwrap(), vec![7]);
        assert!(
            front.tls_sessions.load(Ordering::SeqCst) >= 2,
            "the pool and the lease connection both went through TLS"
        );

        // The same certificate names localhost, not 127.0.0.1: verify-full refuses that
        // host, verify-ca (any name, same CA) does not.
        let by_ip = url.replace("localhost", "127.0.0.1");
        let err = PgStore::connect_with(&by_ip, PgOptions::default())
            .await
            .err()
            .expect("a certificate for another name is refused under verify-full")
            .to_string();
        assert!(err.contains("issued for the host in the URL"), "{err}");
        let by_ip_ca = by_ip.replace("verify-full", "verify-ca");
        PgStore::connect_with(&by_ip_ca, PgOptions::default())
            .await
            .unwrap_or_else(|e| panic!("verify-ca accepts any name from the right CA: {e}"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_is_refused_with_what_to_check() {
    with_database(|upstream, user, db| async move {
        let dir = tempfile::tempdir().unwrap();
        let (trusted, other) = (ca(&dir, "trusted"), ca(&dir, "other"));
        let front = front(Answer::Tls(server(&other, &["localhost"])), upstream).await;
        for mode in ["verify-full", "verify-ca", "require"] {
            let url = format!(
                "postgres://{user}@localhost:{}/{db}?sslmode={mode}&sslrootcert={}",
                front.port,
                pem_arg(&trusted.pem)
            );
            let err = PgStore::connect_with(&url, PgOptions::default())
                .await
                .err()
                .unwrap_or_else(|| panic!("{mode}: a certificate the CA did not sign"))
                .to_string();
            assert!(err.contains("certificate was refused"), "{mode}: {err}");
            assert!(
                err.contains(&format!("sslrootcert={}", trusted.pem.display())),
                "{err}"
            );
            let err = LockSession::connect(&url, PgOptions::default())
                .await
                .err()
                .expect("the lease connection checks the same")
                .to_string();
            assert!(err.contains("certificate was refused"), "{mode}: {err}");
        }
        // Without a CA, `require` encrypts and takes the certificate as it comes (as libpq).
        let url = format!(
            "postgres://{user}@localhost:{}/{db}?sslmode=require",
            front.port
        );
        PgStore::connect_with(&url, PgOptions::default())
            .await
            .unwrap_or_else(|e| panic!("require without a CA: {e}"));
        assert!(front.tls_sessions.load(Ordering::SeqCst) >= 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_asked_of_a_server_without_it_is_refused_never_dropped() {
    with_database(|upstream, user, db| async move {
        let front = front(Answer::NoTls, upstream).await;
        for mode in ["require", "verify-full"] {
            let url = format!(
                "postgres://{user}@localhost:{}/{db}?sslmode={mode}",
                front.port
            );
            let err = PgStore::connect_with(&url, PgOptions::default())
                .await
                .err()
                .unwrap_or_else(|| panic!("{mode} against a server that answers 'N'"))
                .to_string();
            assert!(err.contains("speaks no TLS"), "{mode}: {err}");
            assert!(err.contains(&format!("sslmode={mode}")), "{mode}: {err}");
            let err = LockSession::connect(&url, PgOptions::default())
                .await
                .err()
                .expect("the lease connection refuses it too")
                .to_string();
            assert!(err.contains("speaks no TLS"), "{mode}: {err}");
        }
        // On this host, `prefer` falls back to plaintext as libpq does.
        let url = format!(
            "postgres://{user}@localhost:{}/{db}?sslmode=prefer",
            front.port
        );
        let store = PgStore::connect_with(&url, PgOptions::default())
            .await
            .unwrap_or_else(|e| panic!("prefer on this host: {e}"));
        store.counts().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn plaintext_to_another_host_is_refused_before_connecting() {
    // 192.0.2.0/24 is reserved for documentation: nothing answers there, and nothing is tried.
    let url = "postgres://care:hunter2@192.0.2.10:5432/earshot?sslmode=disable&connect_timeout=1";
    let store = PgStore::connect_with(url, PgOptions::default())
        .await
        .err()
        .expect("plaintext beyond this host")
        .to_string();
    let leases = LockSession::connect(url, PgOptions::default())
        .await
        .err()
        .expect("the lease connection too")
        .to_string();
    for err in [store, leases] {
        assert!(err.contains("allow_plaintext = true"), "{err}");
        assert!(err.contains("sslmode=verify-full"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}
