//! TLS termination in the service: HTTPS on PORT with HTTP/2 by ALPN (and
//! HTTP/1.1), gRPC over TLS, a replaced certificate served within 10 seconds
//! and at once on SIGHUP, and files that cannot be used refused at start-up.

use std::time::{Duration, Instant};

use reqwest::{StatusCode, Version};
use serde_json::json;

use crate::helpers::*;

/// GET /healthz over HTTPS at `addr` with `client`: the version spoken and the body.
async fn healthz(client: &reqwest::Client, port: u16) -> reqwest::Result<(Version, String)> {
    let response = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    let version = response.version();
    Ok((version, response.text().await?))
}

fn port_of(app: &TestApp) -> u16 {
    let port = app.base.rsplit(':').next().expect("a port");
    port.parse().expect("a port number")
}

/// Waits (at most `limit`) until `client` completes a handshake; how long that took.
async fn until_trusted(client: &reqwest::Client, port: u16, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if healthz(client, port).await.is_ok() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "the new certificate was not served within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn https_speaks_http2_by_alpn_and_http1_to_clients_that_ask_for_it() {
    let certificate = SelfSigned::generate();
    let files = TlsFiles::with(&certificate);
    let app = spawn_app_with(&[
        "--tls-cert-file",
        files.cert(),
        "--tls-key-file",
        files.key(),
    ])
    .await;
    let port = port_of(&app);
    let body = json!({"status": "ok"}).to_string();

    let h2 = healthz(&certificate.client(), port).await.expect("HTTPS");
    assert_eq!(h2, (Version::HTTP_2, body.clone()));
    let h1 = healthz(&certificate.http1_client(), port)
        .await
        .expect("HTTPS");
    assert_eq!(h1, (Version::HTTP_11, body));

    // The API works over it as over plain HTTP.
    let email = unique_email();
    let registered = certificate
        .client()
        .post(format!("https://localhost:{port}/register"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("register over HTTP/2");
    assert_eq!(
        (registered.version(), registered.status()),
        (Version::HTTP_2, StatusCode::ACCEPTED)
    );
    // Plain HTTP on the TLS port gets no answer.
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
    assert!(plain.is_err(), "plain HTTP was answered: {plain:?}");
}

#[tokio::test]
async fn grpc_is_served_over_tls_with_the_same_certificate() {
    let certificate = SelfSigned::generate();
    let files = TlsFiles::with(&certificate);
    let app = spawn_app_with(&[
        "--tls-cert-file",
        files.cert(),
        "--tls-key-file",
        files.key(),
    ])
    .await;
    let grpc_port = app
        .grpc
        .as_deref()
        .expect("gRPC on")
        .rsplit(':')
        .next()
        .expect("port");

    // grpc.health.v1.Health/Check with an empty request: one uncompressed
    // frame of length 0; the answer is the frame of `status: SERVING` (1).
    let response = certificate
        .client()
        .post(format!(
            "https://localhost:{grpc_port}/grpc.health.v1.Health/Check"
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(vec![0u8, 0, 0, 0, 0])
        .send()
        .await
        .expect("gRPC over TLS");
    assert_eq!(
        (response.version(), response.status()),
        (Version::HTTP_2, StatusCode::OK)
    );
    let body = response.bytes().await.expect("gRPC answer");
    assert_eq!(body.as_ref(), [0u8, 0, 0, 0, 2, 0x08, 0x01]);
}

#[tokio::test]
async fn a_replaced_certificate_is_served_within_ten_seconds() {
    let old = SelfSigned::generate();
    let files = TlsFiles::with(&old);
    // TLS_RELOAD_INTERVAL left at its default.
    let app = spawn_app_with(&[
        "--tls-cert-file",
        files.cert(),
        "--tls-key-file",
        files.key(),
    ])
    .await;
    let port = port_of(&app);
    healthz(&old.client(), port)
        .await
        .expect("the first certificate");

    let new = SelfSigned::generate();
    assert!(
        healthz(&new.client(), port).await.is_err(),
        "not yet trusted"
    );
    files.install(&new);
    until_trusted(&new.client(), port, Duration::from_secs(10)).await;
    assert!(
        healthz(&old.client(), port).await.is_err(),
        "the old certificate is still served"
    );
}

#[tokio::test]
async fn a_broken_renewal_keeps_the_certificate_in_use_until_it_is_fixed() {
    let old = SelfSigned::generate();
    let files = TlsFiles::with(&old);
    let app = spawn_app_with(&[
        "--tls-cert-file",
        files.cert(),
        "--tls-key-file",
        files.key(),
        "--tls-reload-interval",
        "200ms",
    ])
    .await;
    let port = port_of(&app);

    // A new certificate whose key has not been written yet: no usable pair.
    let new = SelfSigned::generate();
    files.write("cert.pem", &new.cert_pem);
    tokio::time::sleep(Duration::from_millis(600)).await;
    healthz(&old.client(), port)
        .await
        .expect("the old pair is still served");

    files.write("key.pem", &new.key_pem);
    until_trusted(&new.client(), port, Duration::from_secs(3)).await;
}

#[tokio::test]
async fn sighup_serves_a_replaced_certificate_at_once() {
    let old = SelfSigned::generate();
    let files = TlsFiles::with(&old);
    // Polling so rare that only the signal can explain a reload.
    let mut service = ServiceProcess::start(&[
        ("TLS_CERT_FILE", files.cert()),
        ("TLS_KEY_FILE", files.key()),
        ("TLS_RELOAD_INTERVAL", "1h"),
    ])
    .await;
    let port = service.addr.port();
    healthz(&old.client(), port)
        .await
        .expect("the first certificate");

    let new = SelfSigned::generate();
    files.install(&new);
    tokio::time::sleep(Duration::from_millis(500)).await;
    healthz(&old.client(), port)
        .await
        .expect("no reload before SIGHUP");

    service.signal("HUP");
    let took = until_trusted(&new.client(), port, Duration::from_secs(2)).await;
    assert!(took < Duration::from_secs(1), "took {took:?}");
    let log = service.log();
    assert!(
        log.iter()
            .any(|l| l["message"] == "TLS certificate replaced: new connections get the new one"),
        "{log:#?}"
    );

    service.signal("TERM");
    let (status, _) = service.exited_within(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(0));
}

#[test]
fn tls_files_that_cannot_be_used_stop_start_up_naming_the_variable() {
    let certificate = SelfSigned::generate();
    let other = SelfSigned::generate();
    let files = TlsFiles::with(&certificate);
    let missing = files.write("gone.pem", "");
    std::fs::remove_file(&missing).expect("remove");
    let garbage = files.write("garbage.pem", "not a certificate");
    let other_key = files.write("other-key.pem", &other.key_pem);
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[("TLS_CERT_FILE", files.cert())],
            "TLS_KEY_FILE: required with TLS_CERT_FILE",
        ),
        (
            &[("TLS_KEY_FILE", files.key())],
            "TLS_CERT_FILE: required with TLS_KEY_FILE",
        ),
        (
            &[("TLS_CERT_FILE", &missing), ("TLS_KEY_FILE", files.key())],
            &format!("TLS_CERT_FILE: cannot read {missing}"),
        ),
        (
            &[("TLS_CERT_FILE", &garbage), ("TLS_KEY_FILE", files.key())],
            "TLS_CERT_FILE: no certificate in the file",
        ),
        (
            &[
                ("TLS_CERT_FILE", files.cert()),
                ("TLS_KEY_FILE", &other_key),
            ],
            "TLS_KEY_FILE: unusable with the certificate of TLS_CERT_FILE",
        ),
    ];
    for (env, expected) in cases {
        let (ok, stderr) = start_binary(env);
        assert!(!ok, "{env:?} started");
        assert!(stderr.contains(expected), "{env:?}: {stderr}");
    }
}

/// `auth-service healthcheck` with this environment: whether it exited 0, and its stderr.
fn healthcheck(env: &[(&str, &str)]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_auth-service"))
        .arg("healthcheck")
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), stderr)
}

#[tokio::test]
async fn the_healthcheck_command_asks_healthz_over_https_or_http() {
    let certificate = SelfSigned::generate();
    let files = TlsFiles::with(&certificate);
    let tls = [
        ("TLS_CERT_FILE", files.cert()),
        ("TLS_KEY_FILE", files.key()),
    ];
    let mut service = ServiceProcess::start(&tls).await;
    let port = service.addr.port().to_string();
    // As in the container: listening on every address, asked on loopback.
    let env = [("PORT", port.as_str()), ("BIND_ADDR", "0.0.0.0")];
    let (ok, stderr) = healthcheck(&[&env[..], &tls[..]].concat());
    assert!(ok, "{stderr}");
    // Plain HTTP to the HTTPS port gets no answer.
    let (ok, stderr) = healthcheck(&env);
    assert!(!ok);
    assert!(
        stderr.starts_with("unhealthy: GET http://127.0.0.1:"),
        "{stderr}"
    );

    service.signal("TERM");
    service.exited_within(Duration::from_secs(30)).await;
    let (ok, stderr) = healthcheck(&[&env[..], &tls[..]].concat());
    assert!(!ok);
    assert!(
        stderr.starts_with("unhealthy: GET https://127.0.0.1:"),
        "{stderr}"
    );

    let plain = ServiceProcess::start(&[]).await;
    let port = plain.addr.port().to_string();
    let (ok, stderr) = healthcheck(&[("PORT", port.as_str())]);
    assert!(ok, "{stderr}");
}
