use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn register_answers_202_and_mails_a_verification_link() {
    let app = spawn_app().await;
    let email = unique_email();
    let reply = app.register(&email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    assert_eq!(reply.body, json!({"status": "verification_sent"}));

    let mail = app.verification_mail(&email).await;
    let link = mail.find_link("/verify-email?token=").expect("link in mail");
    assert!(link.starts_with("http://auth.test/verify-email?token="), "{link}");
    assert!(mail.data.contains("text/plain") && mail.data.contains("text/html"));
}
