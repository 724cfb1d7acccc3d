//! The hub over HTTPS (rustls) with a shop's own certificate authority.

mod hub_support;

use std::path::Path;
use std::process::Command;

use hub_support::*;
use traveler::hub::SyncState;
use traveler::hub::client::{ClientError, HubClient};
use traveler::hub::server::{Server, TlsFiles};
use traveler::hub::sync::spawn_with;

/// A CA and a certificate for 127.0.0.1 signed by it, made with the openssl tool.
fn make_certs(dir: &Path) -> TlsFiles {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut a = vec!["req", "-x509"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=traveler test CA",
        "-days",
        "2",
    ]);
    run(&a);
    let mut a = vec!["req"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "hub.key",
        "-out",
        "hub.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&a);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "hub.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "hub.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    TlsFiles {
        cert: dir.join("hub.pem"),
        key: dir.join("hub.key"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn benches_sync_over_https_and_an_untrusted_certificate_is_refused() {
    let Some(admin) = pg_admin_url() else { return };
    let url = hub_db(&admin).await;
    let certs = tempfile::tempdir().unwrap();
    let files = make_certs(certs.path());
    let hub = Server::start(&url, "127.0.0.1:0".parse().unwrap(), Some(&files))
        .await
        .unwrap();
    let token = enrol(&url, "BENCH-01").await;
    let base = format!("https://127.0.0.1:{}", hub.addr.port());

    // Without the shop's CA the bench does not trust the hub.
    let untrusting = HubClient::new(&base, &token, None).unwrap();
    match untrusting.verify().await {
        Err(ClientError::Unreachable { detail, .. }) => {
            assert!(detail.to_lowercase().contains("certificate"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    // Plain HTTP to the HTTPS port gets nowhere either.
    let plain = HubClient::new(
        &format!("http://127.0.0.1:{}", hub.addr.port()),
        &token,
        None,
    )
    .unwrap();
    assert!(plain.verify().await.is_err());

    let dir = tempfile::tempdir().unwrap();
    let store = traveler::store::Store::open(dir.path(), Default::default()).unwrap();
    logins(&store, "T1", 50);
    let cfg = traveler::hub::HubConfig {
        url: base.clone(),
        token: token.clone(),
        ca_cert: Some(certs.path().join("ca.pem")),
    };
    let mut rx = spawn_with(store.clone(), cfg, fast());
    wait_state(&mut rx, "synced over https", |s| {
        *s == SyncState::Synced { head: 50 }
    })
    .await;
    assert_eq!(
        hub_records(&url, &store_id(&store)).await,
        store_records(&store)
    );

    let missing = traveler::hub::HubConfig {
        url: base,
        token,
        ca_cert: Some(certs.path().join("nope.pem")),
    };
    let mut rx = spawn_with(store.clone(), missing, fast());
    let s = wait_state(&mut rx, "refused", |s| s.is_alarm()).await;
    assert!(s.header_text().contains("nope.pem"), "{}", s.header_text());
    hub.stop().await;
}

#[tokio::test]
async fn a_missing_or_bad_certificate_is_named() {
    let Some(admin) = pg_admin_url() else { return };
    let url = hub_db(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.pem"), "").unwrap();
    let cases = [
        (
            dir.path().join("none.pem"),
            dir.path().join("none.key"),
            "cannot read",
        ),
        (
            dir.path().join("empty.pem"),
            dir.path().join("empty.pem"),
            "holds no PEM certificate",
        ),
    ];
    for (cert, key, want) in cases {
        let e = Server::start(
            &url,
            "127.0.0.1:0".parse().unwrap(),
            Some(&TlsFiles { cert, key }),
        )
        .await
        .err()
        .expect("refused");
        assert!(e.to_string().contains(want), "{e}");
    }
}
