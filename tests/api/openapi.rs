use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn the_served_spec_equals_the_committed_openapi_yaml() {
    let app = spawn_app().await;
    let served = app.get("/openapi.json").await;
    assert_eq!(served.status, StatusCode::OK);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml");
    let committed = std::fs::read_to_string(path).expect("openapi.yaml exists");
    let committed: Value = yaml_serde::from_str(&committed).expect("openapi.yaml parses");
    assert!(
        served.body == committed,
        "openapi.yaml is stale: run `make openapi` and commit the result"
    );
}

#[tokio::test]
async fn the_spec_describes_every_endpoint_with_problem_errors_and_bearer_security() {
    let spec = app_spec().await;
    let paths = spec["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/register", "post"),
        ("/login", "post"),
        ("/refresh", "post"),
        ("/logout", "post"),
        ("/verify-email", "post"),
        ("/verify-email", "get"),
        ("/me", "get"),
        ("/me/events", "get"),
        ("/verify-email/resend", "post"),
        ("/password/forgot", "post"),
        ("/password/reset", "post"),
        ("/password/reset", "get"),
        ("/password/change", "post"),
        ("/sessions", "get"),
        ("/sessions/{id}", "delete"),
        ("/introspect", "post"),
        ("/.well-known/jwks.json", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path}"
        );
    }
    let me_401 =
        &spec["paths"]["/me"]["get"]["responses"]["401"]["content"]["application/problem+json"];
    assert_eq!(me_401["schema"]["$ref"], "#/components/schemas/Problem");
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(
        spec["paths"]["/me"]["get"]["security"][0]
            .get("bearer")
            .is_some()
    );
}

async fn app_spec() -> Value {
    let app = spawn_app().await;
    app.get("/openapi.json").await.body
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let app = spawn_app().await;
    let page = app.get("/docs/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    // Its assets come from this service, not from a CDN.
    assert!(
        !page.text.contains("https://"),
        "no external assets: {}",
        page.text
    );
    let bundle = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status, StatusCode::OK);
    assert!(bundle.text.len() > 100_000);
    let init = app.get("/docs/swagger-initializer.js").await;
    assert!(init.text.contains("/openapi.json"), "{}", init.text);
}

#[tokio::test]
async fn operation_ids_are_unique() {
    let spec = app_spec().await;
    let mut seen = std::collections::BTreeMap::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let id = operation["operationId"].as_str().expect("operationId");
            let again = seen.insert(id.to_owned(), format!("{method} {path}"));
            assert!(again.is_none(), "{id}: {again:?} and {method} {path}");
        }
    }
}

#[tokio::test]
async fn every_body_taking_operation_documents_how_a_body_is_refused() {
    let spec = app_spec().await;
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if operation.get("requestBody").is_none() {
                continue;
            }
            for status in ["400", "413", "415", "422"] {
                let response = &operation["responses"][status];
                assert!(
                    response["content"]["application/problem+json"].is_object(),
                    "{method} {path} does not document {status} as problem+json"
                );
            }
        }
    }
}

#[tokio::test]
async fn links_lead_from_registration_to_login_refresh_and_logout() {
    let spec = app_spec().await;
    let links = |path: &str, status: &str| {
        let response = &spec["paths"][path]["post"]["responses"][status];
        let links = response["links"].as_object().expect("links");
        links
            .iter()
            .map(|(name, link)| (name.clone(), link["operationId"].clone()))
            .collect::<Vec<_>>()
    };
    let to = |ids: &[&str]| {
        ids.iter()
            .map(|id| (id.to_string(), Value::from(*id)))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        links("/register", "201"),
        to(&["login", "logout", "refresh"])
    );
    assert_eq!(
        links("/login", "200"),
        to(&["login_mfa", "logout", "refresh"])
    );
    assert_eq!(links("/refresh", "200"), to(&["logout", "refresh"]));
    let login = &spec["paths"]["/register"]["post"]["responses"]["201"]["links"]["login"];
    assert_eq!(
        login["requestBody"],
        json!({"email": "$request.body#/email", "password": "$request.body#/password"})
    );
    let logout = &spec["paths"]["/refresh"]["post"]["responses"]["200"]["links"]["logout"];
    assert_eq!(
        logout["requestBody"],
        json!({"refresh_token": "$response.body#/refresh_token"})
    );
}
